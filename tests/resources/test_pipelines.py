"""``client.pipelines`` on both paths, and ``deals.move_to_stage``.

``/settings/pipelines`` is documented, but live Zoho has no such endpoint and keeps team pipelines
as layouts of the Pipelines module. The emulator serves the documented endpoint; a server that
answers it with 404 INVALID_URL_PATTERN (as Zoho does) must give the same models from the layouts.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bigin_async.client import BiginClient
from bigin_async.errors import NotFoundError, ValidationError
from bigin_async.models import Pipeline
from bigin_emulator import BiginEmulator
from tests.helpers.resources import Wire, wired_client

DEFAULT_STAGES = ["Qualification", "Needs Analysis", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
INVALID_URL = {
    "code": "INVALID_URL_PATTERN",
    "details": {},
    "message": "Please check if the URL trying to access is a correct one",
    "status": "error",
}


def shape(pipelines: list[Pipeline]) -> list[tuple[Any, ...]]:
    """What both paths must agree on: ids, names, and the stages in order with probabilities."""
    return [
        (p.id, p.name, [(s.id, s.display_value, s.sequence_number, s.probability) for s in p.stages])
        for p in pipelines
    ]


async def test_the_settings_pipelines_endpoint_lists_creates_updates_and_deletes() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        [default] = await client.pipelines.list()
        assert default.default is True and default.name == "Sales Pipeline"
        assert [s.display_value for s in default.stages] == DEFAULT_STAGES
        assert [s.probability for s in default.stages] == [10, 25, 50, 75, 100, 0]
        assert shape([await client.pipelines.get(default.id)]) == shape([default])  # type: ignore[arg-type]

        created = await client.pipelines.create(
            "Partners", ["Onboarding", {"display_value": "Live", "probability": 100}]
        )
        assert created.ok and created.id is not None
        partners = await client.pipelines.get(created.id)
        assert partners.name == "Partners" and [s.display_value for s in partners.stages] == [
            "Onboarding",
            "Live",
        ]
        assert partners.stages[1].probability == 100

        updated = await client.pipelines.update(
            created.id, name="Partner deals", stages=["Onboarding", "Live", "Churned"]
        )
        assert updated.ok
        renamed = await client.pipelines.get(created.id)
        assert renamed.name == "Partner deals" and [s.display_value for s in renamed.stages] == [
            "Onboarding",
            "Live",
            "Churned",
        ]

        deleted = await client.pipelines.delete(created.id)
        assert deleted.ok
        assert [p.id for p in await client.pipelines.list()] == [default.id]
        with pytest.raises(NotFoundError):
            await client.pipelines.get(created.id)
    assert wire.sent[-1].path == f"/settings/pipelines/{created.id}"
    assert (
        len(wire.to("GET", f"/settings/pipelines/{created.id}")) == 1 + 1 + 1
    )  # no fallback for a missing id
    assert wire.to("POST", "/settings/pipelines")[0].body == {
        "pipelines": [
            {
                "display_value": "Partners",
                "default": False,
                "maps": [
                    {"display_value": "Onboarding", "sequence_number": 1},
                    {"display_value": "Live", "probability": 100, "sequence_number": 2},
                ],
            }
        ]
    }
    assert not wire.to("GET", "/settings/layouts")


class NoPipelinesEndpoint(httpx.AsyncBaseTransport):
    """The emulator, except that ``/settings/pipelines`` does not exist (as on Zoho)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/bigin/v2/settings/pipelines"):
            return httpx.Response(404, json=INVALID_URL)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_without_the_endpoint_the_layouts_give_the_same_pipelines() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as direct:
        await direct.pipelines.create(
            "Partners", ["Onboarding", {"display_value": "Live", "probability": 100}]
        )
        expected = await direct.pipelines.list()
    wire = Wire(NoPipelinesEndpoint(emulator.transport()))
    async with emulator.client(transport=wire) as client:
        from_layouts = await client.pipelines.list()
        again = await client.pipelines.list()
        one = await client.pipelines.get(expected[1].id)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError):
            await client.pipelines.get("999999")
    assert shape(from_layouts) == shape(expected) == shape(again)
    assert shape([one]) == shape([expected[1]])
    assert [s.display_value for s in from_layouts[0].stages] == DEFAULT_STAGES
    # the missing endpoint is asked once, then remembered
    assert wire.routes() == ["GET /settings/pipelines"] + ["GET /settings/layouts"] * 4
    assert all(s.params == {"module": "Pipelines"} for s in wire.to("GET", "/settings/layouts"))


ZOHO_LAYOUTS = {
    "layouts": [
        {
            "id": "3652397000000091055",
            "name": "Sales Pipeline",
            "display_label": "Sales Pipeline",
            "sections": [
                {
                    "display_label": "Pipeline Information",
                    "sequence_number": 1,
                    "fields": [
                        {"api_name": "Deal_Name", "data_type": "text"},
                        {
                            "api_name": "Stage",
                            "data_type": "picklist",
                            "pick_list_values": [
                                {
                                    "display_value": "Qualification",
                                    "actual_value": "Qualification",
                                    "sequence_number": 1,
                                    "id": "3652397000000006801",
                                    "probability": 10,
                                },
                                {
                                    "display_value": "Closed Won",
                                    "actual_value": "Closed Won",
                                    "sequence_number": 3,
                                    "id": "3652397000000006803",
                                    "probability": 100,
                                },
                                {
                                    "display_value": "Proposal/Price Quote",
                                    "actual_value": "Proposal/Price Quote",
                                    "sequence_number": 2,
                                    "id": "3652397000000006802",
                                    "probability": 60,
                                },
                            ],
                        },
                        {
                            "api_name": "Sub_Pipeline",
                            "data_type": "picklist",
                            "pick_list_values": [
                                {
                                    "display_value": "Sales Pipeline Standard",
                                    "actual_value": "Sales Pipeline Standard",
                                    "id": "3652397000000091057",
                                    "maps": [{"id": "3652397000000006801"}, {"display_value": "Closed Won"}],
                                }
                            ],
                        },
                    ],
                }
            ],
        },
        {
            "id": "3652397000000500001",
            "name": "Renewals",
            "display_label": "Renewals",
            "sections": [
                {
                    "fields": [
                        {
                            "api_name": "Stage",
                            "pick_list_values": [
                                {
                                    "display_value": "Due",
                                    "actual_value": "Due",
                                    "sequence_number": 1,
                                    "id": "3652397000000500010",
                                }
                            ],
                        }
                    ]
                }
            ],
        },
    ]
}


def zoho_like_server(seen: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path.startswith("/bigin/v2/settings/pipelines"):
            return httpx.Response(404, json=INVALID_URL)
        if (
            request.url.path == "/bigin/v2/settings/layouts"
            and request.url.params.get("module") == "Pipelines"
        ):
            return httpx.Response(200, content=json.dumps(ZOHO_LAYOUTS).encode())
        return httpx.Response(404, json=INVALID_URL)

    return httpx.MockTransport(handler)


async def test_zoho_shaped_layouts_become_pipelines_and_writes_explain_why_they_fail() -> None:
    seen: list[str] = []
    async with BiginClient(
        access_token="t", api_domain="http://127.0.0.1", transport=zoho_like_server(seen)
    ) as client:
        sales, renewals = await client.pipelines.list()
        got = await client.pipelines.get("3652397000000500001")
        with pytest.raises(NotFoundError) as write:
            await client.pipelines.create("New", ["A"])
    assert sales.id == "3652397000000091055" and sales.name == "Sales Pipeline"
    assert [(s.display_value, s.probability) for s in sales.stages] == [
        ("Qualification", 10),
        ("Proposal/Price Quote", 60),
        ("Closed Won", 100),
    ]
    assert sales.sub_pipelines is not None and sales.sub_pipelines[0].name == "Sales Pipeline Standard"
    assert [s.display_value for s in sales.sub_pipelines[0].maps] == ["Qualification", "Closed Won"]
    assert got.name == "Renewals" == renewals.name
    assert write.value.code == "INVALID_URL_PATTERN" and "layouts" in str(write.value)
    assert seen == [
        "GET /bigin/v2/settings/pipelines",
        "GET /bigin/v2/settings/layouts",
        "GET /bigin/v2/settings/layouts",
        "POST /bigin/v2/settings/pipelines",
    ]


@pytest.mark.parametrize("without_endpoint", [False, True], ids=["settings_pipelines", "layouts"])
async def test_move_to_stage_validates_against_the_deals_own_pipeline(without_endpoint: bool) -> None:
    emulator = BiginEmulator()
    async with emulator.client() as setup:
        partners = await setup.pipelines.create("Partners", ["Onboarding", "Live"])
        sales_deal = await setup.deals.create({"Deal_Name": "Big one", "Stage": "Qualification"})
        partner_deal = await setup.deals.create(
            {"Deal_Name": "Reseller", "Stage": "Onboarding", "Pipeline": {"id": partners.id}}
        )
    inner: httpx.AsyncBaseTransport = emulator.transport()
    wire = Wire(NoPipelinesEndpoint(inner) if without_endpoint else inner)
    async with emulator.client(transport=wire) as client:
        moved = await client.deals.move_to_stage(sales_deal.id, "proposal")  # type: ignore[arg-type]
        assert moved.ok and moved.action == "update"
        assert (await client.deals.get(sales_deal.id)).Stage == "Proposal"  # type: ignore[arg-type]

        wire.clear()
        with pytest.raises(ValidationError) as other_pipeline:
            await client.deals.move_to_stage(sales_deal.id, "Live")  # type: ignore[arg-type]
        with pytest.raises(ValidationError) as unknown:
            await client.deals.move_to_stage(sales_deal.id, "Won-ish")  # type: ignore[arg-type]
        assert not [s for s in wire.sent if s.method == "PUT"]  # refused before writing

        await client.deals.move_to_stage(partner_deal.id, "Live")  # type: ignore[arg-type]
        with pytest.raises(NotFoundError):
            await client.deals.move_to_stage("4242424242", "Live")
    assert "Sales Pipeline" in str(other_pipeline.value) and "Qualification" in str(unknown.value)
    assert emulator.store.table("Pipelines").get(partner_deal.id)["Stage"] == "Live"  # type: ignore[arg-type, index]
    assert wire.sent[-2].body == {"data": [{"Stage": "Live"}]}


async def test_one_deal_moves_through_proposal_negotiation_and_closed_won() -> None:
    """The common "update deal stage" operation: one deal through Proposal, Negotiation, Closed Won."""
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        deal = await client.deals.create(
            {"Deal_Name": "Enterprise Software License", "Amount": 50000, "Stage": "Qualification"}
        )
        for stage in ("Proposal", "Negotiation", "Closed Won"):
            await client.deals.move_to_stage(deal.id, stage)  # type: ignore[arg-type]
            assert (await client.deals.get(deal.id, fields=["Deal_Name", "Stage"])).Stage == stage  # type: ignore[arg-type]
    puts = wire.to("PUT", f"/Pipelines/{deal.id}")
    assert [p.body["data"][0]["Stage"] for p in puts] == ["Proposal", "Negotiation", "Closed Won"]
