"""What a user upgrading across the resource-base refactor still finds where it was.

Module clients now take ``(transport, context)``; a custom module's client class written before
(``LeadsClient(bigin)``, ``ModuleClient(bigin, "Leads")``) is still built from the client alone.
"""

from __future__ import annotations

import importlib
from typing import ClassVar

import httpx
import pytest

import bigin_async
import bigin_async.models
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
        leads_by_class = LeadsClient(bigin, None, Lead)
        for client, module, model in (
            (by_position, "Leads", Lead),
            (by_keyword, "Leads", Lead),
            (plain, "Widgets", Record),
            (leads_by_class, "Leads", Lead),
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


# What each module listed in __all__ before the refactor (the release before it).
FORMER_EXPORTS: dict[str, list[str]] = {
    "bigin_async": [
        "SCOPES",
        "AsyncPaginator",
        "BulkAbortedError",
        "BulkProgress",
        "BulkResult",
        "BulkWriteError",
        "BulkWriter",
        "Call",
        "Company",
        "Contact",
        "Deal",
        "Event",
        "Field",
        "InvalidCriteriaError",
        "InvalidNotificationError",
        "NotificationEvent",
        "NotificationTokenError",
        "Lookup",
        "Note",
        "Owner",
        "Page",
        "PageInfo",
        "Pipeline",
        "Product",
        "Record",
        "RecordOutcome",
        "RelatedTo",
        "Stage",
        "Tag",
        "Task",
        "WriteResult",
        "APIError",
        "AmbiguousWriteError",
        "AuthenticationError",
        "BiginClient",
        "BiginConnectionError",
        "BiginError",
        "BiginTimeoutError",
        "BudgetExhaustedError",
        "ConfigurationError",
        "DuplicateRecordError",
        "Edition",
        "FileTokenStore",
        "InvalidRequestError",
        "JournalError",
        "MemoryTokenStore",
        "NotFoundError",
        "PaginationLimitError",
        "PermissionDeniedError",
        "RateLimitError",
        "RecordError",
        "RefreshBlockedError",
        "Region",
        "Scope",
        "ServerError",
        "Token",
        "TokenStore",
        "ValidationError",
        "__version__",
        "authorization_url",
        "exchange_code",
        "parse_notification",
        "resolve_region",
        "revoke",
    ],
    "bigin_async.books": [
        "BooksAuthenticationError",
        "BooksClient",
        "BooksContact",
        "BooksContactPerson",
        "BooksContactsClient",
        "BooksDuplicateError",
        "BooksError",
        "BooksNotFoundError",
        "BooksOrganizationError",
        "BooksPermissionError",
        "BooksValidationError",
    ],
    "bigin_async.books.errors": [
        "BooksAuthenticationError",
        "BooksDuplicateError",
        "BooksError",
        "BooksNotFoundError",
        "BooksOrganizationError",
        "BooksPermissionError",
        "BooksValidationError",
        "books_error",
    ],
    "bigin_async.books.models": ["BooksContact", "BooksContactPerson", "BooksPageContext", "books_wire"],
    "bigin_async.models": [
        "MODULE_MODELS",
        "READ_ONLY_FIELDS",
        "BiginModel",
        "Call",
        "Company",
        "Contact",
        "Deal",
        "Event",
        "FieldInfo",
        "Id",
        "Layout",
        "LayoutSection",
        "LicenseDetails",
        "Lookup",
        "ModuleInfo",
        "Note",
        "Org",
        "Owner",
        "Page",
        "PageInfo",
        "Participant",
        "PicklistValue",
        "Pipeline",
        "Product",
        "Record",
        "RelatedTo",
        "Stage",
        "Tag",
        "Task",
        "User",
        "WatchChannel",
        "WriteAction",
        "WriteResult",
        "format_date",
        "format_datetime",
        "format_decimal",
        "model_for",
        "mark_as_read",
        "model_to_wire",
        "parse_page",
        "parse_pipelines",
        "pipeline_from_layout",
        "pipelines_from_layouts",
        "parse_write_results",
        "record_to_wire",
        "wire_value",
    ],
    "bigin_async.models.base": [
        "BiginModel",
        "Id",
        "assigned_fields",
        "mark_as_read",
        "model_to_wire",
        "wire_keys",
    ],
    "bigin_async.models.common": ["Lookup", "Owner", "Participant", "RelatedTo", "Tag"],
    "bigin_async.models.org": ["LicenseDetails", "Org", "User", "WatchChannel"],
    "bigin_async.models.pages": ["Page", "PageInfo", "parse_page"],
    "bigin_async.models.record": ["READ_ONLY_FIELDS", "Record", "record_to_wire"],
    "bigin_async.models.records": [
        "MODULE_MODELS",
        "Call",
        "Company",
        "Contact",
        "Deal",
        "Event",
        "Note",
        "Product",
        "Task",
        "model_for",
    ],
    "bigin_async.models.results": ["WriteAction", "WriteResult", "parse_write_results"],
    "bigin_async.models.settings": [
        "FieldInfo",
        "Layout",
        "LayoutSection",
        "ModuleInfo",
        "Pipeline",
        "PicklistValue",
        "Stage",
        "parse_pipelines",
        "pipeline_from_layout",
        "pipelines_from_layouts",
    ],
    "bigin_async.models.wire": [
        "format_date",
        "format_datetime",
        "format_decimal",
        "sorted_set",
        "wire_value",
    ],
    "bigin_async.resources.base": [
        "DEFAULT",
        "MAX_FIELDS_PER_READ",
        "REFERENCE_NAMES",
        "ModuleClient",
        "RecordInput",
        "api_name",
        "body_of",
        "json_body",
        "json_object",
        "send_and_parse",
    ],
    "bigin_async.resources.calls": ["CallsClient"],
    "bigin_async.resources.companies": ["CompaniesClient"],
    "bigin_async.resources.contacts": ["ContactsClient"],
    "bigin_async.resources.coql": ["COQL_MAX_ROWS", "coql_paginator"],
    "bigin_async.resources.deals": ["DealsClient"],
    "bigin_async.resources.events": ["EventsClient"],
    "bigin_async.resources.notes": ["NotesClient"],
    "bigin_async.resources.notifications": [
        "MAX_CHANNEL_LIFETIME",
        "MAX_NOTIFICATION_BYTES",
        "MAX_NOTIFICATION_DEPTH",
        "ChannelSubscription",
        "InvalidNotificationError",
        "KeptChannel",
        "NotificationEvent",
        "NotificationTokenError",
        "NotificationsClient",
        "parse_notification",
    ],
    "bigin_async.resources.org": ["OrgClient", "UsersClient"],
    "bigin_async.resources.pipelines": ["PipelinesClient", "StageInput"],
    "bigin_async.resources.products": ["ProductsClient"],
    "bigin_async.resources.registry": ["MODULE_CLIENTS", "REFERENCE_NAMES", "default_fields_for"],
    "bigin_async.resources.settings": ["SettingsClient"],
    "bigin_async.resources.tasks": ["TasksClient"],
}


@pytest.mark.parametrize("module_name", sorted(FORMER_EXPORTS))
def test_every_name_a_module_exported_before_is_still_exported_there(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in FORMER_EXPORTS[module_name] if not hasattr(module, name)]
    assert missing == []
    unlisted = [name for name in FORMER_EXPORTS[module_name] if name not in module.__all__]
    assert unlisted == []
    # The same object as the package's (and the models package's), where they export it too.
    for package in (bigin_async, bigin_async.models):
        for name in set(FORMER_EXPORTS[module_name]) & set(package.__all__):
            assert getattr(module, name) is getattr(package, name), f"{module_name}.{name}"
