"""Companies: Bigin's ``Accounts`` module (``/Companies`` is INVALID_MODULE)."""

from __future__ import annotations

from typing import ClassVar

from bigin_async.models import Company
from bigin_async.resources.base import ModuleClient
from bigin_async.resources.photos import RecordPhotos

__all__ = ["CompaniesClient"]


class CompaniesClient(RecordPhotos, ModuleClient[Company]):
    """Companies: Bigin's ``Accounts`` module (``/Companies`` is INVALID_MODULE)."""

    module_api_name: ClassVar[str] = "Accounts"
