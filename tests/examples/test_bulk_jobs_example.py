"""examples/bulk_jobs.py against a fresh emulator: two Bulk Write jobs, a Bulk Read job, the credits."""

from __future__ import annotations

from bigin_async import BiginClient
from bigin_emulator import BiginEmulator
from tests.helpers.examples import load_example

JOB_WRITE = "POST /bigin/bulk/v2/write"
JOB_READ = "POST /bigin/bulk/v2/read"


async def test_bulk_jobs_import_two_parts_and_read_the_paris_ones_back(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("bulk_jobs")
    run = await example.main(bigin, count=25_003)  # one record past a part: two jobs

    assert run.imported.ok and run.imported.total == 25_003 and run.imported.actions["insert"] == 25_003
    assert [o.index for o in run.imported.outcomes[:3]] == [0, 1, 2]
    assert len(emulator.store.table("Contacts")) == 25_003
    assert len(run.paris) == 8_335 and {c.Mailing_City for c in run.paris} == {"Paris"}
    routes = emulator.counters.requests_by_route
    assert (routes[JOB_WRITE], routes[JOB_READ]) == (2, 1)
    assert any(line.startswith("waiting part 2 of 2: job ") for line in run.phases)
    # Two write jobs and a read job, plus a credit a call around them: far below 2,501 through calls.
    assert 1_050 <= run.credits.spent_total < 1_100
    assert "Credits spent: " in example.describe(run) and "through calls: 2,501" in example.describe(run)


async def test_running_it_again_updates_the_same_contacts(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("bulk_jobs")
    await example.main(bigin, count=300)
    again = await example.main(bigin, count=300)
    assert again.imported.actions["update"] == 300 and len(emulator.store.table("Contacts")) == 300
