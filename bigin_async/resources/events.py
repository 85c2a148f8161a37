"""Events (meetings), with participants and a related record."""

from __future__ import annotations

from typing import ClassVar

from bigin_async.models import Event
from bigin_async.resources.base import ModuleClient

__all__ = ["EventsClient"]


class EventsClient(ModuleClient[Event]):
    """Events (meetings), with participants and a related record."""

    module_api_name: ClassVar[str] = "Events"
