"""Contacts: people, with Email as their default unique field."""

from __future__ import annotations

from typing import ClassVar

from bigin_async.models import Contact
from bigin_async.resources.base import ModuleClient

__all__ = ["ContactsClient"]


class ContactsClient(ModuleClient[Contact]):
    """Contacts: people, with Email as their default unique field."""

    module_api_name: ClassVar[str] = "Contacts"
