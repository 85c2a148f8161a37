"""Create a contact, with bigin-async.

Bigin's call is ``POST /bigin/v2/Contacts`` with ``{"data": [contact]}``; ``bigin.contacts.create``
sends that body and returns the record's ``WriteResult`` (or raises a typed error). The email
is the Contacts module's unique field, so a second run finds the existing John Doe through
``DuplicateRecordError.existing_id`` instead of failing.

    python examples/create_contact.py
"""

from __future__ import annotations

from typing import Any

from _common import Saved, create_unless_exists, run_example, saved_report

from bigin_async import BiginClient

# Field aliases accepted on write: ``Company_Name`` -> ``Account_Name`` (a plain string there makes
# Bigin create that company) and ``Job_Title`` -> ``Title``; the SDK sends Bigin's names.
CONTACT: dict[str, Any] = {
    "First_Name": "John",
    "Last_Name": "Doe",  # the one mandatory field
    "Email": "john.doe@example.com",
    "Phone": "555-0123",
    "Mobile": "555-0124",
    "Company_Name": "Acme Corporation",
    "Title": "CEO",  # "Job_Title" is accepted too
    "Mailing_Street": "123 Main Street",  # Bigin's address fields are Mailing_*
    "Mailing_City": "New York",
    "Mailing_State": "NY",
    "Mailing_Zip": "10001",
    "Mailing_Country": "USA",
    "Description": "Key decision maker",
    "Tag": ["VIP", "Decision Maker"],  # the SDK sends Bigin's [{"name": "VIP"}, ...]
}


async def main(bigin: BiginClient) -> Saved:
    """Create John Doe (or find him, when his email is already taken)."""
    return await create_unless_exists(bigin.contacts, CONTACT)


if __name__ == "__main__":
    run_example(main, saved_report("Contact"))
