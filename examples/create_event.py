"""Create an event (a meeting with a contact, about a deal), with bigin-async.

Bigin's call is ``POST /bigin/v2/Events``: a one-hour meeting with a contact as participant, related to
a deal. Times are aware ``datetime`` objects here; the SDK sends them as ISO 8601 with an offset
and no milliseconds, the only form Bigin accepts.

    python examples/create_event.py
"""

from __future__ import annotations

from dataclasses import dataclass

from _common import (
    JOHN_DOE,
    default_pipeline,
    ensure_contact,
    meeting_time,
    record_id,
    run_example,
    stage_or_first,
)

from bigin_async import BiginClient


@dataclass(frozen=True)
class CreatedEvent:
    event_id: str
    contact_id: str
    deal_id: str


async def main(bigin: BiginClient) -> CreatedEvent:
    """Schedule "Client Meeting" with John Doe about a deal of his."""
    contact_id = await ensure_contact(bigin, JOHN_DOE)
    pipeline = await default_pipeline(bigin)
    deal = await bigin.deals.create(
        {
            "Deal_Name": "Website Redesign Project",
            "Stage": stage_or_first(pipeline, "Proposal"),
            "Pipeline": {"id": pipeline.id},  # alias of Layout
            "Contact_Name": {"id": contact_id},
        }
    )
    deal_id = record_id(deal)
    result = await bigin.events.create(
        {
            "Event_Title": "Client Meeting",
            "Start_DateTime": meeting_time(5, 14),
            "End_DateTime": meeting_time(5, 15),
            "Venue": "Conference Room A",  # "Location" is accepted too
            # Sent as Bigin's {"type": "contact", "participant": id}, which may also be written.
            "Participants": [{"id": contact_id}],
            "Related_To": {"module": "Pipelines", "id": deal_id},  # sent as What_Id + $se_module
            "Description": "Discuss project proposal and timeline",
            "Reminder": {"type": "email", "time": meeting_time(5, 13, 30)},  # sent as written
        }
    )
    return CreatedEvent(record_id(result), contact_id, deal_id)


def describe(event: CreatedEvent) -> str:
    return f"Event created: {event.event_id} (participant {event.contact_id}, deal {event.deal_id})"


if __name__ == "__main__":
    run_example(main, describe)
