"""What a user upgrading across the resource-base refactor still finds where it was.

Module clients now take ``(transport, context)``; a custom module's client class written before
(``LeadsClient(bigin)``, ``ModuleClient(bigin, "Leads")``) is still built from the client alone.
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from bigin_async import BiginClient
from bigin_async.models import Contact, Record
from bigin_async.models.modules import BASE_DEFAULT_FIELDS
from bigin_async.resources.base import ModuleClient
from bigin_async.resources.contacts import ContactsClient


class Lead(Record):
    Lead_Name: str | None = None


class LeadsClient(ModuleClient[Lead]):
    module_api_name: ClassVar[str] = "Leads"
    model = Lead


def _bigin(paths: list[str]) -> BiginClient:
    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json={"data": [{"id": "7", "Lead_Name": "Ada"}]})

    return BiginClient(access_token="1000.given", transport=httpx.MockTransport(answer))


async def test_a_custom_module_client_built_from_the_client_alone_still_reads() -> None:
    paths: list[str] = []
    async with _bigin(paths) as bigin:
        leads = LeadsClient(bigin)
        record = await leads.get("7")
        assert isinstance(record, Lead) and record.Lead_Name == "Ada"
        assert leads._transport is bigin.transport
    assert paths == ["/bigin/v2/Leads/7"]


async def test_the_former_positional_and_keyword_forms_name_the_module_and_its_model() -> None:
    paths: list[str] = []
    async with _bigin(paths) as bigin:
        by_position: ModuleClient[Lead] = ModuleClient(bigin, "Leads", Lead)
        by_keyword: ModuleClient[Lead] = ModuleClient(bigin, module_api_name="Leads", model=Lead)
        plain = ModuleClient[Record](bigin, "Widgets")
        for client, module, model in (
            (by_position, "Leads", Lead),
            (by_keyword, "Leads", Lead),
            (plain, "Widgets", Record),
        ):
            assert (client.module_api_name, client.model) == (module, model)
        assert plain.default_fields == BASE_DEFAULT_FIELDS
        assert (await by_position.get("7")).Lead_Name == "Ada"
        contacts = ContactsClient(bigin)
        assert contacts.model is Contact and contacts.default_fields == bigin.contacts.default_fields
    assert paths == ["/bigin/v2/Leads/7"]


async def test_the_new_form_is_unchanged() -> None:
    async with _bigin([]) as bigin:
        leads = LeadsClient(bigin.transport, bigin)
        assert (leads.module_api_name, leads.model) == ("Leads", Lead)
        assert leads.default_fields == BASE_DEFAULT_FIELDS
