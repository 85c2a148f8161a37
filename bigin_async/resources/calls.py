"""Calls: logged phone calls."""

from __future__ import annotations

from typing import ClassVar

from bigin_async.models import Call
from bigin_async.resources.base import ModuleClient

__all__ = ["CallsClient"]


class CallsClient(ModuleClient[Call]):
    """Calls: logged phone calls."""

    module_api_name: ClassVar[str] = "Calls"
