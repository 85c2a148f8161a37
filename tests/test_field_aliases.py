"""Field aliases accepted on write (``Company_Name`` -> ``Account_Name``) are sent under Bigin's own
names; a record that also carries Bigin's own name keeps it (explicit names win)."""

from __future__ import annotations

from bigin_async._field_aliases import to_bigin_names


def test_contacts_and_deals_renames() -> None:
    assert to_bigin_names("Contacts", {"Company_Name": {"id": "1"}, "Job_Title": "CTO"}) == {
        "Account_Name": {"id": "1"},
        "Title": "CTO",
    }
    deal = to_bigin_names(
        "Pipelines",
        {"Pipeline": {"id": "9"}, "Expected_Close_Date": "2025-02-28", "Company_Name": {"id": "1"}},
    )
    assert deal == {"Layout": {"id": "9"}, "Closing_Date": "2025-02-28", "Account_Name": {"id": "1"}}


def test_explicit_bigin_names_win() -> None:
    record = {"Company_Name": "ref", "Account_Name": {"id": "2"}}
    assert to_bigin_names("Contacts", record) == {"Company_Name": "ref", "Account_Name": {"id": "2"}}


def test_parents_become_lookups_with_se_module() -> None:
    assert to_bigin_names("Tasks", {"Related_To": {"module": "Deals", "id": "5"}}) == {
        "What_Id": {"id": "5"},
        "$se_module": "Pipelines",
    }
    assert to_bigin_names("Notes", {"Parent_Id": {"module": "Contacts", "id": "7"}}) == {
        "Parent_Id": {"id": "7"},
        "$se_module": "Contacts",
    }
    # Bigin's own shape passes through untouched.
    assert to_bigin_names("Notes", {"Parent_Id": {"id": "7"}, "$se_module": "Contacts"}) == {
        "Parent_Id": {"id": "7"},
        "$se_module": "Contacts",
    }


def test_event_participants_and_venue() -> None:
    event = to_bigin_names(
        "Events", {"Participants": [{"id": "3"}, {"type": "user", "participant": "4"}], "Location": "Room A"}
    )
    assert event == {
        "Participants": [{"type": "contact", "participant": "3"}, {"type": "user", "participant": "4"}],
        "Venue": "Room A",
    }


def test_other_modules_untouched() -> None:
    assert to_bigin_names("Products", {"Company_Name": "x"}) == {"Company_Name": "x"}
