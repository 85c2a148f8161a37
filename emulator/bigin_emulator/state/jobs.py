"""The org's Bulk Read and Bulk Write jobs: their ids, states over time, and the work done at the end.

A bulk job moves through Zoho's states by the emulator's clock, never by who looks at it:

- ``ADDED`` from creation until ``queue_delay`` seconds have passed (waiting for a worker);
- ``IN PROGRESS`` for ``seconds_per_1000 * records / 1000`` seconds more;
- then ``COMPLETED``, or ``FAILED`` when the job's work raised ``JobFailed`` or the job was marked
  to fail (the emulator's job faults, see below).

With both durations 0 (the default) a job is over by the first time anyone asks about it.

The job's *work* (applying a Bulk Write file to the records, taking a Bulk Read snapshot) runs
exactly once, at the job's end, whoever notices it first: a status poll (``get``), a download
(``get`` again), the background runner (``run``, which the emulator runs while its notifier runs,
so callbacks fire with nobody polling), or ``await wait(job_id)``. Its return value is kept as
``job.result`` for the result download.

When a job ends and was created with a callback, one POST is queued through ``sink`` (the
emulator's notifier): ``{"job_id", "operation", "state", **job.event}`` where ``event`` is what the
route passed (``{"resource": [...]}`` for a write job, ``{"query": {...}}`` for a read job).

Job faults come from ``faults`` (the emulator's ``JobFaults``): ``take("fail_jobs")`` at creation
dooms the job to end ``FAILED`` without doing its work, ``take("refuse_callbacks")`` at its end
sends no callback (a callback lost; counted in ``callbacks_refused``). They are the one way to fail
a job: a test of the registry alone passes its own ``JobFaults``.

Bulk Write uploads wait in a ``FileStore`` under their ``file_id`` until one job takes them.

How a route uses it (read and write jobs alike)::

    job = jobs.create("write", "insert", records=len(rows), work=apply, callback=body.get("callback"),
                      event={"resource": [...]}, data={...})
    job = jobs.get(job_id, kind="write")   # None for an unknown id or a read job's id
    job.state                              # "ADDED" | "IN PROGRESS" | "COMPLETED" | "FAILED"
    job.result                             # what ``apply`` returned, once COMPLETED

``get`` brings the job up to date before returning it, so ``job.state`` is the state as of now.
Everything here is synchronous bookkeeping (the routes call it with no ``await`` in between), except
``run`` and ``wait``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio

from bigin_emulator.state.watches import Delivery

__all__ = [
    "ADDED",
    "COMPLETED",
    "FAILED",
    "IN_PROGRESS",
    "FileStore",
    "Job",
    "JobFailed",
    "JobFaultSource",
    "JobKind",
    "JobRegistry",
    "StoredFile",
]

ADDED = "ADDED"
IN_PROGRESS = "IN PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"

JobKind = Literal["read", "write"]

# How often (real seconds) the runner looks at the clock while jobs are pending: the clock may be
# a test's fake one, which moves without telling anybody.
RUNNER_INTERVAL = 0.02


class JobFaultSource(Protocol):
    """Where the registry asks whether a job fault is due (``"fail_jobs"``, ``"refuse_callbacks"``)."""

    def take(self, fault: str) -> bool: ...


class _NoFaults:
    def take(self, fault: str) -> bool:
        return False


class JobFailed(Exception):
    """Raised by a job's work to end the job ``FAILED`` (the message is kept as ``job.error``)."""


@dataclass(eq=False)
class Job:
    """One bulk job. ``data`` is the route's own (the request as accepted, the stored file...)."""

    id: str
    kind: JobKind
    operation: str
    created_at: float
    created_time: str
    records: int
    queued_until: float
    ends_at: float
    work: Callable[[], Any] | None = field(repr=False, default=None)
    callback: Mapping[str, Any] | None = None
    event: Mapping[str, Any] | Callable[[Job], Mapping[str, Any]] = field(default_factory=dict, repr=False)
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    state: str = ADDED
    result: Any = field(default=None, repr=False)
    error: str | None = None
    doomed: bool = False  # a job fault: ends FAILED without doing its work

    @property
    def ended(self) -> bool:
        return self.state in (COMPLETED, FAILED)


class JobRegistry:
    """Every bulk job of one org (see the module docstring).

    ``clock`` is the emulator's wall clock, ``new_id`` hands out ids (the org's record ids, so job
    ids look like Zoho's long digit strings), ``format_time`` renders ``created_time``.
    ``queue_delay`` and ``seconds_per_1000`` may be changed at any time; they apply to jobs created
    afterwards.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        new_id: Callable[[], str],
        format_time: Callable[[float], str],
        *,
        queue_delay: float = 0.0,
        seconds_per_1000: float = 0.0,
        sink: Callable[[Delivery], None] | None = None,
        faults: JobFaultSource | None = None,
    ) -> None:
        for name, value in (("job_queue_delay", queue_delay), ("job_seconds_per_1000", seconds_per_1000)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
            if value < 0:
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        self.clock = clock
        self.new_id = new_id
        self.format_time = format_time
        self.queue_delay = float(queue_delay)
        self.seconds_per_1000 = float(seconds_per_1000)
        self.sink = sink
        self.faults: JobFaultSource = faults if faults is not None else _NoFaults()
        self.jobs: dict[str, Job] = {}
        self.callbacks_refused = 0
        self._pending: dict[str, Job] = {}
        self._wakeup: anyio.Event | None = None

    # -- creating and finding -----------------------------------------------------------------

    def create(
        self,
        kind: JobKind,
        operation: str,
        *,
        records: int,
        work: Callable[[], Any] | None = None,
        callback: Mapping[str, Any] | None = None,
        event: Mapping[str, Any] | Callable[[Job], Mapping[str, Any]] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Job:
        """A new job in state ``ADDED``; ``records`` sizes its ``IN PROGRESS`` time.

        ``event`` is what the callback adds to ``job_id``, ``operation`` and ``state``: a mapping,
        or a function of the ended job (for what is known only then, such as a file's counts).
        """
        now = self.clock()
        queued_until = now + self.queue_delay
        job = Job(
            id=self.new_id(),
            kind=kind,
            operation=operation,
            created_at=now,
            created_time=self.format_time(now),
            records=records,
            queued_until=queued_until,
            ends_at=queued_until + self.seconds_per_1000 * max(0, records) / 1000,
            work=work,
            callback=callback if callback and callback.get("url") else None,
            event=event if callable(event) else dict(event or {}),
            data=dict(data or {}),
        )
        job.doomed = self._due("fail_jobs")
        self.jobs[job.id] = job
        self._pending[job.id] = job
        if self._wakeup is not None:
            self._wakeup.set()
        return job

    def get(self, job_id: str, kind: JobKind | None = None) -> Job | None:
        """The job brought up to date (its work done if it is due), or None (unknown, other kind)."""
        job = self.jobs.get(job_id)
        if job is None or (kind is not None and job.kind != kind):
            return None
        self.advance(job)
        return job

    # -- faults ---------------------------------------------------------------------------------

    def _due(self, fault: str) -> bool:
        return self.faults.take(fault)

    # -- time -----------------------------------------------------------------------------------

    def advance(self, job: Job) -> bool:
        """Bring ``job``'s state up to the clock; True once it has ended."""
        if job.ended:
            return True
        now = self.clock()
        if now < job.queued_until:
            return False
        if now < job.ends_at:
            job.state = IN_PROGRESS
            return False
        self._finish(job)
        return True

    def advance_all(self) -> float | None:
        """Advance every pending job; the clock seconds until the next one ends (None: none pending)."""
        soonest: float | None = None
        for job in list(self._pending.values()):
            if not self.advance(job):
                left = job.ends_at - self.clock()
                soonest = left if soonest is None else min(soonest, left)
        return soonest

    @property
    def pending(self) -> int:
        """Jobs not ended yet."""
        return len(self._pending)

    async def run(self) -> None:
        """Advance jobs for ever (the background runner): sleeps while none is pending."""
        while True:
            left = self.advance_all()
            self._wakeup = anyio.Event()
            if left is None:
                await self._wakeup.wait()
                continue
            with anyio.move_on_after(min(max(left, 0.0), RUNNER_INTERVAL)):
                await self._wakeup.wait()

    async def wait(self, job_id: str) -> Job:
        """Wait (advancing the job itself) until the job ends; ``KeyError`` for an unknown id."""
        job = self.jobs[job_id]
        while not self.advance(job):
            await anyio.sleep(min(max(job.ends_at - self.clock(), 0.0), RUNNER_INTERVAL))
        return job

    # -- the end of a job -----------------------------------------------------------------------

    def _finish(self, job: Job) -> None:
        self._pending.pop(job.id, None)
        work, job.work = job.work, None  # set before running it: the work is done once, whatever happens
        if job.doomed:
            job.state, job.error = FAILED, "the job failed (emulated fault)"
        else:
            try:
                job.result = work() if work is not None else None
            except JobFailed as failure:
                job.state, job.error = FAILED, str(failure) or "the job failed"
            except BaseException as bug:  # an emulator bug: the job is over, and the bug is loud
                job.state, job.error = FAILED, f"internal error: {bug!r}"
                raise
            else:
                job.state = COMPLETED
        self._announce(job)

    def _announce(self, job: Job) -> None:
        if job.callback is None:
            return
        if self._due("refuse_callbacks"):
            self.callbacks_refused += 1
            return
        if self.sink is None:
            return
        event = job.event(job) if callable(job.event) else job.event
        payload = {"job_id": job.id, "operation": job.operation, "state": job.state, **event}
        self.sink(Delivery(f"bulk-job-{job.id}", str(job.callback["url"]), payload))


@dataclass(eq=False)
class StoredFile:
    """An uploaded Bulk Write zip: its CSV's name, header and record count, and the zip itself."""

    file_id: str
    created_time: str
    name: str
    header: tuple[str, ...]
    records: int
    data: bytes = field(repr=False)
    used: bool = False


class FileStore:
    """Uploaded files by ``file_id``; each one serves one job (Zoho refuses a file_id used before)."""

    def __init__(self, new_id: Callable[[], str], now_iso: Callable[[], str]) -> None:
        self.new_id = new_id
        self.now_iso = now_iso
        self.files: dict[str, StoredFile] = {}

    def add(self, data: bytes, name: str, header: tuple[str, ...], records: int) -> StoredFile:
        stored = StoredFile(self.new_id(), self.now_iso(), name, header, records, data)
        self.files[stored.file_id] = stored
        return stored

    def unused(self, file_id: str) -> StoredFile | None:
        """The file if it exists and no job has taken it yet."""
        stored = self.files.get(file_id)
        return stored if stored is not None and not stored.used else None

    def take(self, stored: StoredFile) -> bytes:
        """Mark the file used and hand over its zip (the store keeps only its description)."""
        stored.used = True
        data, stored.data = stored.data, b""
        return data
