"""Which client class and default fields serve which module API name."""

from __future__ import annotations

from bigin_async.resources.base import REFERENCE_NAMES, ModuleClient, api_name
from bigin_async.resources.calls import CallsClient
from bigin_async.resources.companies import CompaniesClient
from bigin_async.resources.contacts import ContactsClient
from bigin_async.resources.deals import DealsClient
from bigin_async.resources.events import EventsClient
from bigin_async.resources.notes import NotesClient
from bigin_async.resources.products import ProductsClient
from bigin_async.resources.tasks import TasksClient

__all__ = ["MODULE_CLIENTS", "REFERENCE_NAMES", "default_fields_for"]

MODULE_CLIENTS: dict[str, type[ModuleClient]] = {  # type: ignore[type-arg]
    cls.module_api_name: cls
    for cls in (
        ContactsClient,
        CompaniesClient,
        DealsClient,
        TasksClient,
        EventsClient,
        NotesClient,
        ProductsClient,
        CallsClient,
    )
}


def default_fields_for(module: str) -> tuple[str, ...]:
    cls = MODULE_CLIENTS.get(api_name(module))
    return cls.default_fields if cls is not None else ModuleClient.default_fields
