"""Create a note on a contact, with bigin-async.

Bigin's call is ``POST /bigin/v2/Notes`` with the parent record in ``Parent_Id`` plus ``$se_module``.
``bigin.notes.add(module, id, title, content)`` writes exactly that,
and ``bigin.notes.for_record`` reads the contact's notes back.

    python examples/create_note.py
"""

from __future__ import annotations

from dataclasses import dataclass

from _common import JOHN_DOE, ensure_contact, record_id, run_example

from bigin_async import BiginClient


@dataclass(frozen=True)
class CreatedNote:
    note_id: str
    contact_id: str
    notes_on_contact: int


async def main(bigin: BiginClient) -> CreatedNote:
    """Add notes of a first call to John Doe, then count his notes."""
    contact_id = await ensure_contact(bigin, JOHN_DOE)
    result = await bigin.notes.add(
        "Contacts",
        contact_id,
        title="Initial Call Notes",
        content="Client is interested in our services. Discussed pricing and timeline. Follow up next week.",
    )
    notes = [note async for note in bigin.notes.for_record("Contacts", contact_id)]
    return CreatedNote(record_id(result), contact_id, len(notes))


def describe(note: CreatedNote) -> str:
    return f"Note created: {note.note_id} (contact {note.contact_id} now has {note.notes_on_contact} note(s))"


if __name__ == "__main__":
    run_example(main, describe)
