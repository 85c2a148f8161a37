"""The reference's "Contacts: Example - Create Contact", with bigin-async.

Reference: ``POST /bigin/v2/Contacts`` with ``{"data": [contact]}``. Here ``bigin.contacts.create``
sends the same body and returns the record's ``WriteResult`` (or raises a typed error). The email
is the Contacts module's unique field, so a second run finds the existing John Doe through
``DuplicateRecordError.existing_id`` instead of failing.

    python examples/create_contact.py
"""

from __future__ import annotations

from typing import Any

from _common import Saved, create_unless_exists, run_example, saved_report

from bigin_async import BiginClient

# The reference's contact. Where its field names are not Bigin's, Bigin's are used and the
# reference's are in the comment; ``Company_Name`` is understood by the SDK's emulator (Bigin's
# field is ``Account_Name``, and a plain string there makes Bigin create that company).
CONTACT: dict[str, Any] = {
    "First_Name": "John",
    "Last_Name": "Doe",  # the one mandatory field
    "Email": "john.doe@example.com",
    "Phone": "555-0123",
    "Mobile": "555-0124",
    "Company_Name": "Acme Corporation",
    "Title": "CEO",  # reference: Job_Title
    "Mailing_Street": "123 Main Street",  # reference: Address
    "Mailing_City": "New York",  # reference: City
    "Mailing_State": "NY",  # reference: State
    "Mailing_Zip": "10001",  # reference: Zip_Code
    "Mailing_Country": "USA",  # reference: Country
    "Description": "Key decision maker",
    "Tag": ["VIP", "Decision Maker"],  # the SDK sends Bigin's [{"name": "VIP"}, ...]
}


async def main(bigin: BiginClient) -> Saved:
    """Create John Doe (or find him, when his email is already taken)."""
    return await create_unless_exists(bigin.contacts, CONTACT)


if __name__ == "__main__":
    run_example(main, saved_report("Contact"))
