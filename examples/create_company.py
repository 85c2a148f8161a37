"""The reference's "Companies: Example - Create Company", with bigin-async.

Reference: ``POST /bigin/v2/Companies``. Bigin's API name for Companies is ``Accounts``
(``/Companies`` answers INVALID_MODULE): ``bigin.companies`` speaks to ``/Accounts``. The company
name is unique, so a second run reports the existing company instead of failing.

    python examples/create_company.py
"""

from __future__ import annotations

from typing import Any

from _common import Saved, create_unless_exists, run_example, saved_report

from bigin_async import BiginClient

# The reference's company with Bigin's field names (the reference's in the comments). The
# reference's "Email" is left out: Bigin companies have no such field out of the box.
COMPANY: dict[str, Any] = {
    "Account_Name": "TechCorp Inc",  # reference: Company_Name (mandatory and unique)
    "Phone": "555-1000",
    "Website": "www.techcorp.com",
    "Industry": "Technology",
    "Annual_Revenue": 5000000,
    "Employees": 50,  # reference: Number_of_Employees
    "Billing_Street": "456 Tech Boulevard",  # reference: Address
    "Billing_City": "San Francisco",  # reference: City
    "Billing_State": "CA",  # reference: State
    "Billing_Code": "94105",  # reference: Zip_Code
    "Billing_Country": "USA",  # reference: Country
    "Description": "Leading tech solutions provider",
    "Tag": ["Technology", "B2B"],
}


async def main(bigin: BiginClient) -> Saved:
    """Create TechCorp Inc (or find it, when the name is already taken)."""
    return await create_unless_exists(bigin.companies, COMPANY)


if __name__ == "__main__":
    run_example(main, saved_report("Company"))
