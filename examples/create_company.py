"""Create a company (Bigin's Accounts module), with bigin-async.

Bigin's API name for Companies is ``Accounts``
(``/Companies`` answers INVALID_MODULE): ``bigin.companies`` speaks to ``/Accounts``. The company
name is unique, so a second run reports the existing company instead of failing.

    python examples/create_company.py
"""

from __future__ import annotations

from typing import Any

from _common import Saved, create_unless_exists, run_example, saved_report

from bigin_async import BiginClient

# Bigin's field names for a company. There is no "Email": Bigin companies have no such field out of
# the box.
COMPANY: dict[str, Any] = {
    "Account_Name": "TechCorp Inc",  # mandatory and unique; the alias Company_Name is accepted too
    "Phone": "555-1000",
    "Website": "www.techcorp.com",
    "Industry": "Technology",
    "Annual_Revenue": 5000000,
    "Employees": 50,  # the number of employees
    "Billing_Street": "456 Tech Boulevard",  # Bigin's address fields are Billing_*
    "Billing_City": "San Francisco",
    "Billing_State": "CA",
    "Billing_Code": "94105",  # the zip code
    "Billing_Country": "USA",
    "Description": "Leading tech solutions provider",
    "Tag": ["Technology", "B2B"],
}


async def main(bigin: BiginClient) -> Saved:
    """Create TechCorp Inc (or find it, when the name is already taken)."""
    return await create_unless_exists(bigin.companies, COMPANY)


if __name__ == "__main__":
    run_example(main, saved_report("Company"))
