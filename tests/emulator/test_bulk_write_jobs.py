"""Bulk Write jobs on the emulator, over plain httpx: the job registry, create, status, result zips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from bigin_emulator import BiginEmulator, JobFaults
from bigin_emulator.state.jobs import COMPLETED, FAILED, IN_PROGRESS, JobFailed, JobRegistry
from tests.helpers.bulk_uploads import authorised, create_write, result_rows, uploaded, write_job
from tests.helpers.clock import FakeClock
from tests.helpers.receiver import Receiver  # a webhook app that keeps what it is sent

BASE = "/bigin/bulk/v2/write"

# -- the job registry (shared by read and write jobs) ------------------------------------------


def _registry(clock: FakeClock, **kwargs: Any) -> tuple[JobRegistry, list[Any]]:
    sent: list[Any] = []
    counter = iter(range(1, 1000))
    registry = JobRegistry(clock, lambda: str(next(counter)), str, sink=sent.append, **kwargs)
    return registry, sent


def test_a_job_moves_through_its_states_by_the_clock_and_works_once() -> None:
    clock = FakeClock()
    registry, sent = _registry(clock, queue_delay=10.0, seconds_per_1000=2.0)
    done: list[int] = []

    def work() -> str:
        done.append(1)
        return "rows"

    job = registry.create("write", "insert", records=5000, work=work, callback={"url": "http://x/cb"})
    assert registry.get(job.id, kind="write") is job and job.state == "ADDED"
    assert registry.get(job.id, kind="read") is None and registry.get("nope") is None
    clock.advance(10.0)
    assert registry.get(job.id) is job and job.state == IN_PROGRESS and not done
    assert registry.advance_all() == pytest.approx(10.0)
    clock.advance(9.9)
    assert registry.get(job.id) is job and job.state == IN_PROGRESS
    clock.advance(0.1)
    for _ in range(3):
        assert registry.get(job.id) is job
    assert job.state == COMPLETED and job.result == "rows" and done == [1]
    assert registry.pending == 0 and registry.advance_all() is None
    assert [d.payload for d in sent] == [{"job_id": job.id, "operation": "insert", "state": COMPLETED}]
    assert sent[0].url == "http://x/cb"


def test_without_a_sink_a_callback_goes_nowhere() -> None:
    registry = JobRegistry(FakeClock(), lambda: "1", str)
    job = registry.create("write", "insert", records=1, callback={"url": "http://x"})
    assert registry.get(job.id) is job and job.state == COMPLETED and job.result is None


def test_instant_jobs_are_over_at_the_first_look() -> None:
    registry, sent = _registry(FakeClock())
    job = registry.create("read", "read", records=10**6, work=lambda: 1, event={"query": {"module": "X"}})
    assert job.state == "ADDED"  # the creation answer says ADDED
    assert registry.get(job.id) is job and job.state == COMPLETED and not sent  # no callback asked for


def test_a_job_whose_work_fails_ends_failed_and_a_callback_says_so() -> None:
    registry, sent = _registry(FakeClock())

    def broken() -> None:
        raise JobFailed("the file is gone")

    job = registry.create("write", "update", records=1, work=broken, callback={"url": "http://x"})
    assert registry.get(job.id) is job and job.state == FAILED and job.error == "the file is gone"
    assert sent[0].payload["state"] == FAILED


def test_a_bug_in_the_work_fails_the_job_and_is_raised() -> None:
    registry, _ = _registry(FakeClock())
    job = registry.create("write", "insert", records=1, work=lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        registry.get(job.id)
    assert job.state == FAILED and registry.get(job.id) is job


def test_doomed_jobs_and_dropped_callbacks() -> None:
    faults = JobFaults(fail_jobs=1, refuse_callbacks=1)
    registry, sent = _registry(FakeClock(), faults=faults)
    worked: list[int] = []
    first = registry.create(
        "write", "insert", records=1, work=lambda: worked.append(1), callback={"url": "u"}
    )
    second = registry.create(
        "write", "insert", records=1, work=lambda: worked.append(2), callback={"url": "u"}
    )
    registry.advance_all()
    assert (first.state, second.state, worked) == (FAILED, COMPLETED, [2])
    assert registry.callbacks_refused == 1 and [d.payload["job_id"] for d in sent] == [second.id]
    assert (faults.fail_jobs, faults.refuse_callbacks) == (0, 0)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), True, "1"])
def test_durations_are_checked(bad: Any) -> None:
    with pytest.raises(ValueError, match="job_queue_delay"):
        BiginEmulator(job_queue_delay=bad)
    with pytest.raises(ValueError, match="job_seconds_per_1000"):
        BiginEmulator(job_seconds_per_1000=bad)


async def test_wait_advances_the_job_itself() -> None:
    clock = FakeClock()
    registry, _ = _registry(clock, queue_delay=5.0)
    job = registry.create("write", "insert", records=1, work=lambda: "ok")
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(registry.wait, job.id)
        await anyio.lowlevel.checkpoint()
        clock.advance(5.0)
    assert job.state == COMPLETED


class _Arrivals(Receiver):
    """A webhook that also says when something arrived (so a test waits without sleeping)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = anyio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await super().__call__(scope, receive, send)
        self.arrived.set()


async def test_the_runner_ends_jobs_and_sends_callbacks_with_nobody_polling() -> None:
    clock = FakeClock()
    emulator = BiginEmulator(clock=clock, job_queue_delay=30.0)
    receiver = _Arrivals()
    emulator.register_webhook_app("http://hooks.test/", receiver)
    async with emulator.notifier.running():
        await anyio.lowlevel.checkpoint()  # the runner starts, finds nothing pending and waits
        job = emulator.jobs.create(
            "write", "insert", records=3, work=lambda: "ok", callback={"url": "http://hooks.test/bulk"}
        )
        await anyio.lowlevel.checkpoint()
        clock.advance(30.0)
        with anyio.fail_after(10):
            await receiver.arrived.wait()
        await emulator.notifier.drain()
    assert job.state == COMPLETED and receiver.bodies[0]["state"] == COMPLETED


# -- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
async def http(emulator: BiginEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with authorised(emulator) as client:
        yield client


async def _status(http: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    answer = await http.get(f"{BASE}/{job_id}")
    assert answer.status_code == 200, answer.text
    (job,) = answer.json()["data"]
    assert isinstance(job, dict)
    return job


async def _results(http: httpx.AsyncClient, job_id: str) -> list[dict[str, str]]:
    answer = await http.get(f"{BASE}/{job_id}/result")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    return result_rows(answer.content)


def _contacts(emulator: BiginEmulator) -> dict[str, dict[str, Any]]:
    return dict(emulator.store.table("Contacts").records)


async def test_an_insert_job_applies_its_file_once_with_rest_validation(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    rows = [
        ["Last_Name", "Email", "Email_Opt_Out"],
        ["Ng", "ng@example.com", "true"],
        ["", "nobody@example.com", "false"],
        ["Ito", "ng@example.com", ""],
        ["Bad", "not-an-email", ""],
    ]
    file_id = await uploaded(http, rows)
    created = await create_write(http, file_id, "insert", "Contacts", rows[0])
    assert created.status_code == 201
    body = created.json()
    assert (body["status"], body["code"], body["message"]) == (
        "success",
        "ADDED_SUCCESSFULLY",
        "Added successfully.",
    )
    job_id = body["details"]["id"]
    assert job_id.isdigit() and body["details"]["created_by"]["id"]
    job = await _status(http, job_id)
    assert (job["id"], job["operation"], job["status"], job["character_encoding"]) == (
        job_id,
        "insert",
        "COMPLETED",
        "UTF-8",
    )
    (resource,) = job["resource"]
    assert resource["module"]["api_name"] == "Contacts" and resource["status"] == "COMPLETED"
    assert resource["field_mappings"] == [{"api_name": n, "index": i} for i, n in enumerate(rows[0])]
    assert resource["file"] == {
        "status": "COMPLETED",
        "name": "part.csv",
        "added_count": 1,
        "skipped_count": 3,
        "updated_count": 0,
        "total_count": 4,
    }
    assert job["result"] == {"download_url": f"{BASE}/{job_id}/result"}
    results = await _results(http, job_id)
    assert list(results[0]) == ["Last_Name", "Email", "Email_Opt_Out", "STATUS", "RECORD_ID", "ERRORS"]
    assert [(r["Last_Name"], r["STATUS"], r["ERRORS"]) for r in results] == [
        ("Ng", "ADDED", ""),
        ("", "SKIPPED", "MANDATORY_NOT_FOUND-Last_Name"),
        ("Ito", "SKIPPED", "DUPLICATE_DATA-Email"),
        ("Bad", "SKIPPED", "INVALID_DATA-Email"),
    ]
    contacts = _contacts(emulator)
    assert list(contacts) == [results[0]["RECORD_ID"]]
    added = contacts[results[0]["RECORD_ID"]]
    assert added["Email_Opt_Out"] is True and added["Full_Name"] == "Ng"
    for _ in range(2):  # more polls and downloads apply nothing again
        await _status(http, job_id)
        await _results(http, job_id)
    assert len(_contacts(emulator)) == 1


async def test_a_job_moves_by_the_clock_and_writes_only_at_its_end(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, job_queue_delay=5.0, job_seconds_per_1000=1000.0)
    async with authorised(emulator) as http:
        job_id = await write_job(http, [["Last_Name"], ["A"], ["B"]])
        assert (await _status(http, job_id))["status"] == "ADDED"
        refused = await http.get(f"{BASE}/{job_id}/result")
        assert refused.status_code == 400 and refused.json()["code"] == "INVALID_REQUEST"
        clock.advance(5.0)
        job = await _status(http, job_id)
        assert job["status"] == "IN PROGRESS" and "result" not in job and not _contacts(emulator)
        assert job["resource"][0]["file"]["total_count"] == 2
        clock.advance(1.999)
        assert (await _status(http, job_id))["status"] == "IN PROGRESS"
        clock.advance(0.001)
        assert (await _status(http, job_id))["status"] == "COMPLETED"
        assert len(_contacts(emulator)) == 2


async def test_update_by_id_and_by_a_field_and_upsert(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    first, second = (
        e["details"]["id"]
        for e in emulator.insert_records(
            "Contacts",
            [
                {"Last_Name": "One", "Email": "one@example.com"},
                {"Last_Name": "Two", "Email": "two@example.com"},
            ],
        )
    )
    by_id = await write_job(
        http, [["id", "Title"], [first, "Boss"], ["5545000999999999999", "Ghost"]], "update", find_by="id"
    )
    assert [(r["STATUS"], r["RECORD_ID"], r["ERRORS"]) for r in await _results(http, by_id)] == [
        ("UPDATED", first, ""),
        ("SKIPPED", "", "INVALID_DATA-id"),
    ]
    by_email = await write_job(
        http,
        [["Email", "Title"], ["two@example.com", "Chief"], ["nobody@example.com", "X"], ["", "Y"]],
        "update",
        find_by="Email",
    )
    assert [(r["STATUS"], r["ERRORS"]) for r in await _results(http, by_email)] == [
        ("UPDATED", ""),
        ("SKIPPED", "INVALID_DATA-Email"),
        ("SKIPPED", "MANDATORY_NOT_FOUND-Email"),
    ]
    upsert = await write_job(
        http,
        [["Last_Name", "Email"], ["Uno", "one@example.com"], ["Three", "three@example.com"], ["Four", ""]],
        "upsert",
        find_by="Email",
    )
    results = await _results(http, upsert)
    assert [(r["STATUS"], r["ERRORS"]) for r in results] == [
        ("UPDATED", ""),
        ("ADDED", ""),
        ("ADDED", ""),  # no Email to match on: inserted, as Zoho's bulk upsert does
    ]
    contacts = _contacts(emulator)
    assert contacts[first]["Title"] == "Boss" and contacts[first]["Last_Name"] == "Uno"
    assert contacts[second]["Title"] == "Chief" and len(contacts) == 4
    counts = (await _status(http, upsert))["resource"][0]["file"]
    assert (counts["added_count"], counts["updated_count"], counts["skipped_count"]) == (2, 1, 0)
    assert (await _status(http, upsert))["resource"][0]["find_by"] == "Email"


async def test_ignore_empty_leaves_a_field_alone_else_an_empty_cell_clears_it(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    (entry,) = emulator.insert_records("Contacts", [{"Last_Name": "Ng", "Title": "Boss", "Phone": "1"}])
    record_id = entry["details"]["id"]
    rows = [["id", "Title", "Phone"], [record_id, "", "2"]]
    await _status(http, await write_job(http, rows, "update", find_by="id", ignore_empty=True))
    assert _contacts(emulator)[record_id]["Title"] == "Boss"
    await _status(http, await write_job(http, rows, "update", find_by="id", ignore_empty=False))
    assert _contacts(emulator)[record_id]["Title"] is None and _contacts(emulator)[record_id]["Phone"] == "2"


async def test_lookups_by_id_columns_ids_and_names(emulator: BiginEmulator, http: httpx.AsyncClient) -> None:
    (company,) = emulator.insert_records("Accounts", [{"Account_Name": "Acme"}])
    acme = company["details"]["id"]
    rows = [
        ["Last_Name", "Account_Name.id"],
        ["ById", acme],
        ["Missing", "5545000999999999999"],
    ]
    results = await _results(http, await write_job(http, rows))
    assert [(r["STATUS"], r["ERRORS"]) for r in results] == [
        ("ADDED", ""),
        ("SKIPPED", "INVALID_DATA-Account_Name"),
    ]
    plain = await _results(
        http, await write_job(http, [["Last_Name", "Account_Name"], ["Plain", acme], ["New", "Zeta"]])
    )
    contacts = _contacts(emulator)
    assert contacts[results[0]["RECORD_ID"]]["Account_Name"] == {"name": "Acme", "id": acme}
    assert contacts[plain[0]["RECORD_ID"]]["Account_Name"] == {"name": "Acme", "id": acme}
    assert contacts[plain[1]["RECORD_ID"]]["Account_Name"]["name"] == "Zeta"  # a company made of the name
    mapped = await uploaded(http, [["Last_Name", "Company"], ["ByMapping", acme]])
    answer = await http.post(
        BASE,
        json={
            "operation": "insert",
            "resource": [
                {
                    "type": "data",
                    "module": {"api_name": "Contacts"},
                    "file_id": mapped,
                    "field_mappings": [
                        {"api_name": "Last_Name", "index": 0},
                        {"api_name": "Account_Name", "index": 1, "find_by": "id"},
                    ],
                }
            ],
        },
    )
    job = await _status(http, answer.json()["details"]["id"])
    assert job["resource"][0]["field_mappings"][1] == {
        "api_name": "Account_Name",
        "index": 1,
        "find_by": "id",
    }
    by_mapping = await _results(http, job["id"])
    assert list(by_mapping[0])[:2] == ["Last_Name", "Account_Name"]
    assert _contacts(emulator)[by_mapping[0]["RECORD_ID"]]["Account_Name"]["id"] == acme


async def test_typed_cells_become_rest_values(emulator: BiginEmulator, http: httpx.AsyncClient) -> None:
    rows = [
        ["Product_Name", "Unit_Price", "Qty_in_Stock", "Product_Active", "Tag"],
        ["Widget", "9.5", "3", "TRUE", "a;b"],
        ["Gadget", "12", "x", "false", ""],
    ]
    results = await _results(http, await write_job(http, rows, module="Products"))
    assert [(r["STATUS"], r["ERRORS"]) for r in results] == [
        ("ADDED", ""),
        ("SKIPPED", "INVALID_DATA-Qty_in_Stock"),
    ]
    widget = emulator.store.table("Products").records[results[0]["RECORD_ID"]]
    assert widget["Unit_Price"] == 9.5 and widget["Qty_in_Stock"] == 3 and widget["Product_Active"] is True
    assert [t["name"] for t in widget["Tag"]] == ["a", "b"]


@pytest.mark.parametrize(
    ("change", "code", "key"),
    [
        ({"operation": "delete"}, "INVALID_DATA", "operation"),
        ({"character_encoding": "latin-1"}, "INVALID_DATA", "character_encoding"),
        ({"resource": []}, "INVALID_DATA", "resource"),
        ({"type": "meta"}, "INVALID_DATA", "type"),
        ({"module": {"api_name": "Notes"}}, "NOT_SUPPORTED", None),
        ({"module": {"api_name": "Users"}}, "NOT_SUPPORTED", None),
        ({"module": "Attachments"}, "NOT_SUPPORTED", None),
        ({"module": {"api_name": "Leads"}}, "INVALID_MODULE", None),
        ({"module": None}, "INVALID_DATA", "module"),
        ({"file_id": "123"}, "INVALID_DATA", "file_id"),
        ({"file_id": 5}, "INVALID_DATA", "file_id"),
        ({"field_mappings": [{"api_name": "Nope", "index": 0}]}, "INVALID_DATA", "Nope"),
        ({"field_mappings": [{"api_name": "Last_Name.id", "index": 0}]}, "INVALID_DATA", "Last_Name.id"),
        ({"field_mappings": [{"api_name": "Owner.email", "index": 0}]}, "INVALID_DATA", "Owner.email"),
        ({"field_mappings": [{"api_name": "Last_Name", "index": 2}]}, "INVALID_DATA", "index"),
        ({"field_mappings": [{"api_name": "Last_Name", "index": True}]}, "INVALID_DATA", "index"),
        ({"field_mappings": [{"index": 0}]}, "INVALID_DATA", "api_name"),
        ({"field_mappings": ["Last_Name"]}, "INVALID_DATA", "field_mappings"),
        ({"field_mappings": []}, "INVALID_DATA", "field_mappings"),
        (
            {"field_mappings": [{"api_name": "Last_Name", "index": 0, "find_by": "id"}]},
            "INVALID_DATA",
            "find_by",
        ),
        (
            {
                "field_mappings": [
                    {"api_name": "Last_Name", "index": 0},
                    {"api_name": "Last_Name", "index": 1},
                ]
            },
            "INVALID_DATA",
            "Last_Name",
        ),
        ({"operation": "update"}, "INVALID_DATA", "find_by"),
        ({"operation": "upsert", "find_by": "Title"}, "INVALID_DATA", "find_by"),
        ({"operation": "upsert", "find_by": "id"}, "INVALID_DATA", "find_by"),
        ({"ignore_empty": "yes"}, "INVALID_DATA", "ignore_empty"),
        ({"callback": {"url": "ftp://x"}}, "INVALID_DATA", None),
    ],
)
async def test_a_refused_job_is_not_created_and_leaves_the_file_unused(
    emulator: BiginEmulator, http: httpx.AsyncClient, change: dict[str, Any], code: str, key: str | None
) -> None:
    file_id = await uploaded(http, [["Last_Name", "Email"], ["Ng", "ng@example.com"]])
    resource: dict[str, Any] = {
        "type": "data",
        "module": {"api_name": "Contacts"},
        "file_id": file_id,
        "field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "Email", "index": 1}],
    }
    body: dict[str, Any] = {"operation": "insert", "character_encoding": "UTF-8", "resource": [resource]}
    for name, value in change.items():
        if name in body or name == "callback":
            body[name] = value
        else:
            resource[name] = value
    answer = await http.post(BASE, json=body)
    assert answer.status_code == 400 and answer.json()["code"] == code, answer.text
    if key is not None:
        assert answer.json()["details"]["api_name"] == key
    assert not emulator.jobs.jobs and emulator.files.unused(file_id) is not None
    assert (await http.post(BASE, content=b"[1]")).json()["code"] == "INVALID_DATA"


async def test_a_file_serves_one_job_and_each_post_makes_a_new_job(http: httpx.AsyncClient) -> None:
    rows = [["Last_Name"], ["Ng"]]
    file_id = await uploaded(http, rows)
    assert (await create_write(http, file_id)).status_code == 201
    again = await create_write(http, file_id)
    assert again.status_code == 400 and again.json()["details"]["api_name"] == "file_id"
    first, second = await write_job(http, rows), await write_job(http, rows)
    assert first != second


async def test_unknown_jobs_are_not_found(emulator: BiginEmulator, http: httpx.AsyncClient) -> None:
    read = emulator.jobs.create("read", "read", records=0)
    for url in (f"{BASE}/5545000999999999999", f"{BASE}/{read.id}", f"{BASE}/5545000999999999999/result"):
        answer = await http.get(url)
        assert answer.status_code == 404 and answer.json()["code"] == "RECORD_NOT_FOUND"


async def test_without_mappings_the_header_maps_every_column(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    file_id = await uploaded(http, [["Last_Name", "Title"], ["Ng", "Boss"]])
    job_id = (await create_write(http, file_id)).json()["details"]["id"]
    (row,) = await _results(http, job_id)
    assert (row["Title"], row["STATUS"]) == ("Boss", "ADDED")


async def test_shuffled_results_hold_every_row_once(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, shuffle_write_results=True)
    assert BiginEmulator(realism="zoho").realism.shuffle_write_results
    rows = [["Last_Name"], *([f"N{i:03d}"] for i in range(200))]
    async with authorised(emulator) as http:
        results = await _results(http, await write_job(http, rows))
    names = [r["Last_Name"] for r in results]
    assert names != [r[0] for r in rows[1:]] and sorted(names) == [r[0] for r in rows[1:]]
    assert all(
        emulator.store.table("Contacts").records[r["RECORD_ID"]]["Last_Name"] == r["Last_Name"]
        for r in results
    )


async def test_a_callback_reports_the_ended_job_with_its_counts(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    receiver = Receiver()
    emulator.register_webhook_app("http://hooks.test/", receiver)
    job_id = await write_job(
        http, [["Last_Name"], ["Ng"], [""]], callback={"url": "http://hooks.test/x", "method": "post"}
    )
    assert (await _status(http, job_id))["callback"] == {"url": "http://hooks.test/x", "method": "post"}
    await emulator.notifier.drain()
    (payload,) = receiver.bodies
    assert (payload["job_id"], payload["operation"], payload["state"]) == (job_id, "insert", "COMPLETED")
    assert (
        payload["resource"][0]["file"]["added_count"] == 1
        and payload["resource"][0]["file"]["skipped_count"] == 1
    )


async def test_25000_rows_apply_in_one_go(emulator: BiginEmulator, http: httpx.AsyncClient) -> None:
    rows = [["Last_Name", "Email", "Title"], *([f"N{i}", f"n{i}@example.com", "T"] for i in range(25_000))]
    job_id = await write_job(http, rows)
    counts = (await _status(http, job_id))["resource"][0]["file"]
    assert (counts["added_count"], counts["total_count"]) == (25_000, 25_000)
    assert len(await _results(http, job_id)) == 25_000 and len(_contacts(emulator)) == 25_000


# -- job faults -----------------------------------------------------------------------------------


async def test_a_dropped_create_answer_still_makes_the_job(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, job_faults=JobFaults(drop_create_answers=1))
    async with authorised(emulator) as http:
        refused = await create_write(http, "123")  # a refusal is answered: the fault waits for a job
        assert refused.status_code == 400 and emulator.job_faults.drop_create_answers == 1
        file_id = await uploaded(http, [["Last_Name"], ["Ng"]])
        with pytest.raises(httpx.RemoteProtocolError):
            await create_write(http, file_id)
        (job,) = emulator.jobs.jobs.values()
        assert (await _status(http, job.id))["status"] == "COMPLETED" and len(_contacts(emulator)) == 1
        assert emulator.job_faults.drop_create_answers == 0
    assert emulator.counters.faults_injected == {"drop_create_answers": 1}


async def test_a_dropped_create_answer_of_a_read_job_still_makes_the_job(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, job_faults=JobFaults(drop_create_answers=1))
    async with authorised(emulator) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/bigin/bulk/v2/read", json={"query": {"module": "Contacts"}})
    (job,) = emulator.jobs.jobs.values()
    assert job.kind == "read" and emulator.counters.credits == 50


async def test_integer_cells_are_numbers(emulator: BiginEmulator, http: httpx.AsyncClient) -> None:
    rows = [["Deal_Name", "Stage", "Probability"], ["Big", "Qualification", "40"]]
    (row,) = await _results(http, await write_job(http, rows, module="Pipelines"))
    assert row["STATUS"] == "ADDED", row
    assert emulator.store.table("Pipelines").records[row["RECORD_ID"]]["Probability"] == 40


async def test_failed_jobs_write_nothing_and_have_no_result(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, job_faults=JobFaults(fail_jobs=1))
    async with authorised(emulator) as http:
        failed = await write_job(http, [["Last_Name"], ["Ng"]])
        job = await _status(http, failed)
        assert (
            job["status"] == "FAILED"
            and "result" not in job
            and job["resource"][0]["file"]["added_count"] == 0
        )
        assert (await http.get(f"{BASE}/{failed}/result")).status_code == 400
        assert not _contacts(emulator)
        assert (await _status(http, await write_job(http, [["Last_Name"], ["Ng"]])))["status"] == "COMPLETED"


async def test_a_refused_callback_is_never_sent(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, job_faults=JobFaults(refuse_callbacks=1))
    emulator.notifier.backoff = 0.0
    async with authorised(emulator) as http:
        hook = {"url": "http://hooks.test/x", "method": "post"}
        job_id = await write_job(http, [["Last_Name"], ["Ng"]], callback=hook)
        assert (await _status(http, job_id))["status"] == "COMPLETED"
    await emulator.notifier.drain()
    assert emulator.jobs.callbacks_refused == 1 and emulator.notifier.counters.queued == 0


def test_job_faults_are_checked() -> None:
    with pytest.raises(ValueError, match="fail_jobs"):
        JobFaults(fail_jobs=-1)
    with pytest.raises(ValueError, match="refuse_callbacks"):
        JobFaults(refuse_callbacks=True)
