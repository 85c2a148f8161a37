"""Companies: Bigin's ``Accounts`` module (``/Companies`` is INVALID_MODULE)."""

from __future__ import annotations

from typing import ClassVar

from bigin_async.models import Company
from bigin_async.resources.base import ModuleClient

__all__ = ["CompaniesClient"]


class CompaniesClient(ModuleClient[Company]):
    """Companies: Bigin's ``Accounts`` module (``/Companies`` is INVALID_MODULE)."""

    module_api_name: ClassVar[str] = "Accounts"
