"""examples/_common.py: emulator by default, a real org only when credentials are set."""

from __future__ import annotations

import pytest

from bigin_async import BiginClient
from bigin_emulator import BiginEmulator
from tests.helpers.examples import load_example


def test_real_org_only_with_a_token_in_the_environment() -> None:
    common = load_example("_common")
    assert not common.uses_real_org({})
    assert not common.uses_real_org({"BIGIN_CLIENT_ID": "1000.X", "BIGIN_REFRESH_TOKEN": ""})
    assert common.uses_real_org({"BIGIN_REFRESH_TOKEN": "1000.y"})
    assert common.uses_real_org({"BIGIN_ACCESS_TOKEN": "1000.z"})


async def test_open_client_seeds_a_fresh_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    common = load_example("_common")
    for name in common.REAL_ORG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    seeded: list[BiginEmulator] = []

    def seed(emulator: BiginEmulator) -> None:
        seeded.append(emulator)
        emulator.seed_data(contacts=3)

    async with common.open_client(seed) as bigin:
        assert bigin.config.api_domain == "http://127.0.0.1"
        assert len(await bigin.contacts.list().to_list(limit=10)) == 3
    assert bigin.closed and len(seeded) == 1


def test_run_example_prints_the_report_and_returns_the_result(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    common = load_example("_common")
    for name in common.REAL_ORG_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    async def main(bigin: BiginClient) -> int:
        return len(await bigin.pipelines.list())

    assert common.run_example(main, lambda count: f"{count} pipeline(s)") == 1
    assert capsys.readouterr().out == "1 pipeline(s)\n"


async def test_stage_or_first_falls_back_to_the_first_stage(bigin: BiginClient) -> None:
    common = load_example("_common")
    pipeline = await common.default_pipeline(bigin)
    assert common.stage_or_first(pipeline, "negotiation") == "Negotiation"
    assert common.stage_or_first(pipeline, "Signed") == "Qualification"


async def test_ensure_helpers_upsert_so_a_second_call_finds_the_same_record(bigin: BiginClient) -> None:
    common = load_example("_common")
    first = await common.ensure_contact(bigin, common.JOHN_DOE)
    assert await common.ensure_contact(bigin, common.JOHN_DOE) == first
    company = await common.ensure_company(bigin, {"Account_Name": "Acme Corporation"})
    assert await common.ensure_company(bigin, {"Account_Name": "Acme Corporation"}) == company
    assert (
        common.saved_report("Contact")(common.Saved(first, created=False))
        == f"Contact already existed: {first}"
    )
