"""Create a task related to a contact, with bigin-async.

Bigin's call is ``POST /bigin/v2/Tasks``; Bigin links an activity to its record with
``What_Id: {"id"}`` plus ``$se_module: "Contacts"``. Field alias accepted on write:
``Related_To: {"module", "id"}`` -> ``What_Id`` + ``$se_module``, which the SDK sends.

    python examples/create_task.py
"""

from __future__ import annotations

from dataclasses import dataclass

from _common import JOHN_DOE, days_ahead, ensure_contact, meeting_time, record_id, run_example

from bigin_async import BiginClient


@dataclass(frozen=True)
class CreatedTask:
    task_id: str
    contact_id: str


async def main(bigin: BiginClient) -> CreatedTask:
    """A high-priority follow-up task on John Doe, due in five days."""
    contact_id = await ensure_contact(bigin, JOHN_DOE)
    result = await bigin.tasks.create(
        {
            "Subject": "Follow up with client",
            "Due_Date": days_ahead(5),
            "Status": "Not Started",  # Not Started, In Progress, Completed, Deferred, Waiting
            "Priority": "High",  # High, Normal, Low
            "Related_To": {"module": "Contacts", "id": contact_id},  # Bigin: What_Id + $se_module
            "Description": "Call to discuss project timeline",
            # Sent as written, like any custom field (Bigin's own reminder field is Remind_At).
            "Reminder": {"type": "email", "time": meeting_time(5, 9)},
        }
    )
    return CreatedTask(record_id(result), contact_id)


def describe(task: CreatedTask) -> str:
    return f"Task created: {task.task_id} (related to contact {task.contact_id})"


if __name__ == "__main__":
    run_example(main, describe)
