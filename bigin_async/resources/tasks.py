"""Tasks, related to a contact, company or deal through ``Related_To``/``What_Id``."""

from __future__ import annotations

from typing import ClassVar

from bigin_async.models import Task
from bigin_async.resources.base import ModuleClient

__all__ = ["TasksClient"]


class TasksClient(ModuleClient[Task]):
    """Tasks, related to a contact, company or deal through ``Related_To``/``What_Id``."""

    module_api_name: ClassVar[str] = "Tasks"
