"""Companies: the reference's name for Bigin's ``Accounts`` module (``/Companies`` is INVALID_MODULE)."""

from __future__ import annotations

from typing import ClassVar

from bigin_async.models import Company
from bigin_async.resources.base import ModuleClient

__all__ = ["CompaniesClient"]


class CompaniesClient(ModuleClient[Company]):
    """Companies: the reference's name for Bigin's ``Accounts`` module (``/Companies`` is INVALID_MODULE)."""

    module_api_name: ClassVar[str] = "Accounts"
    model = Company
    default_fields: ClassVar[tuple[str, ...]] = (
        "Account_Name",
        "Phone",
        "Website",
        "Industry",
        "Billing_City",
        "Billing_Country",
        "Description",
        "Tag",
        "Owner",
        "Created_Time",
        "Modified_Time",
    )
