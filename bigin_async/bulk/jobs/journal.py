"""The journal of a Bulk Write import: each part's stage, so a crash resumes without a second job.

One JSON line per step of a part, each on disk (fsynced) before the step it announces or right
after the step it records (the file machinery is :mod:`bigin_async.bulk.logfile`, shared with the
call-based journal):

- ``written``: the part's number, its input range, the sha256 of its CSV, its zip's path, and
  whether every record carries the ``find_by`` value (an upsert without it inserts);
- ``uploaded``: the ``file_id`` the file host gave the zip;
- ``creating``: logged *before* the job is asked for. Creating a job is not idempotent, so a
  ``creating`` with no ``created`` after it (a crash, or an answer lost on the way) means the
  job may exist or not; a resumed run never guesses: an insert's records are reported
  ``unknown`` (a second job could duplicate them), an update's or a keyed upsert's job is asked
  for again (applying them twice changes nothing);
- ``unsent``: the job announced by the last ``creating`` was refused before it went out (no
  token, no scope, the day's credits spent): no job, nothing ambiguous;
- ``created``: the job id: from here on the job is only polled, never created again;
- ``completed`` (its result's ``download_url``) or ``failed`` (the job ended FAILED, or was
  refused: the code and message, which a resumed run reports again);
- ``results``: the downloaded result zip's path and sha256, read back from disk on resume.

A resumed run rebuilds the parts from its input and compares each part's sha256 with the one
logged: another input is a :class:`~bigin_async.errors.JournalError`, before that part is sent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from bigin_async.bulk.logfile import AppendOnlyLog

__all__ = ["JOBS_JOURNAL_KIND", "JOBS_JOURNAL_VERSION", "JobJournal", "PartState"]

JOBS_JOURNAL_VERSION = 1
JOBS_JOURNAL_KIND = "bulk-write-jobs"
_STAGES = frozenset(
    {"written", "uploaded", "creating", "unsent", "created", "completed", "failed", "results"}
)


@dataclass
class PartState:
    """What the journal knows of one part."""

    number: int
    sha256: str
    first: int
    last: int
    rows: int
    path: str
    keyed: bool = True
    file_id: str | None = None
    creating: int = 0  # how many times a job was asked for
    job_id: str | None = None
    download_url: str | None = None
    failed_code: str | None = None
    failed_message: str | None = None
    results_path: str | None = None
    results_sha256: str | None = None

    @property
    def ambiguous(self) -> bool:
        """A job was asked for and no answer logged: it may exist or not."""
        return self.creating > 0 and self.job_id is None and self.failed_code is None


class JobJournal(AppendOnlyLog):
    """The stages of every part of one Bulk Write import."""

    def __init__(self, path: str | os.PathLike[str], *, module: str, operation: str) -> None:
        super().__init__(path)
        self.module = module
        self.operation = operation
        self.parts: dict[int, PartState] = {}

    def _new_header(self) -> dict[str, Any]:
        return {
            "t": "header",
            "kind": JOBS_JOURNAL_KIND,
            "module": self.module,
            "operation": self.operation,
            "v": JOBS_JOURNAL_VERSION,
        }

    def _header(self, line: Any) -> None:
        if not (
            isinstance(line, dict)
            and line.get("t") == "header"
            and line.get("kind") == JOBS_JOURNAL_KIND
            and type(line.get("v")) is int
        ):
            raise self._error(
                1,
                "is not the header of a Bulk Write jobs journal (a journal of call-based bulk writes, "
                "or not a journal): use another journal file",
            )
        if line["v"] > JOBS_JOURNAL_VERSION:
            raise self._error(1, f"is a header of jobs journal format {line['v']}, newer than this one reads")
        if (line.get("module"), line.get("operation")) != (self.module, self.operation):
            raise self._error(
                1,
                f"belongs to a Bulk Write {line.get('operation')} of {line.get('module')}, not a "
                f"{self.operation} of {self.module}: use another journal file",
            )

    def _apply(self, number: int, line: Any) -> None:
        try:
            self._take(line)
        except (KeyError, TypeError, ValueError) as error:
            raise self._error(number, f"is not a Bulk Write journal record ({error})") from None

    def _take(self, line: Any) -> None:
        if not isinstance(line, dict) or line.get("t") not in _STAGES:
            raise ValueError(f"unknown stage {line.get('t') if isinstance(line, dict) else line!r}")
        stage, part = line["t"], line["p"]
        if type(part) is not int or part < 1:
            raise TypeError("p is not a part number")
        if stage == "written":
            values = (line["sha256"], line["path"])
            ints = (line["first"], line["last"], line["rows"])
            if not all(isinstance(v, str) for v in values) or not all(type(v) is int for v in ints):
                raise TypeError("written needs sha256, path, first, last and rows")
            known = self.parts.get(part)
            if known is not None and known.sha256 != line["sha256"]:
                raise ValueError(f"part {part} written twice with different contents")
            if known is None:
                self.parts[part] = PartState(
                    part, line["sha256"], *ints, line["path"], keyed=bool(line.get("keyed", True))
                )
            return
        state = self.parts.get(part)
        if state is None:
            raise ValueError(f"{stage} of part {part}, which was never written")
        if stage == "uploaded":
            state.file_id = _text(line, "file_id")
        elif stage == "creating":
            state.creating += 1
        elif stage == "unsent":
            state.creating = max(0, state.creating - 1)
        elif stage == "created":
            state.job_id = _text(line, "job_id")
        elif stage == "completed":
            state.download_url = _text(line, "download_url")
        elif stage == "failed":
            state.failed_code = _text(line, "code")
            message = line.get("message")
            state.failed_message = message if isinstance(message, str) else None
            job = line.get("job_id")
            state.job_id = job if isinstance(job, str) else state.job_id
        else:
            state.results_path = _text(line, "path")
            state.results_sha256 = _text(line, "sha256")

    # -- writing ---------------------------------------------------------------------------------
    async def log_written(
        self, number: int, *, sha256: str, first: int, last: int, rows: int, path: str, keyed: bool
    ) -> None:
        line = {"t": "written", "p": number, "sha256": sha256, "first": first, "last": last, "rows": rows}
        await self._append({**line, "path": path, "keyed": keyed})
        self.parts[number] = PartState(number, sha256, first, last, rows, path, keyed=keyed)

    async def log_uploaded(self, number: int, file_id: str) -> None:
        await self._append({"t": "uploaded", "p": number, "file_id": file_id})
        self.parts[number].file_id = file_id

    async def log_creating(self, number: int) -> None:
        await self._append({"t": "creating", "p": number})
        self.parts[number].creating += 1

    async def log_unsent(self, number: int) -> None:
        """The job last announced by ``creating`` was refused before it was sent (no token, no credits)."""
        await self._append({"t": "unsent", "p": number})
        state = self.parts[number]
        state.creating = max(0, state.creating - 1)

    async def log_created(self, number: int, job_id: str) -> None:
        await self._append({"t": "created", "p": number, "job_id": job_id})
        self.parts[number].job_id = job_id

    async def log_completed(self, number: int, download_url: str) -> None:
        await self._append({"t": "completed", "p": number, "download_url": download_url})
        self.parts[number].download_url = download_url

    async def log_failed(self, number: int, *, code: str, message: str | None, job_id: str | None) -> None:
        line: dict[str, Any] = {"t": "failed", "p": number, "code": code}
        if message is not None:
            line["message"] = message
        if job_id is not None:
            line["job_id"] = job_id
        await self._append(line)
        state = self.parts[number]
        state.failed_code, state.failed_message = code, message
        state.job_id = job_id or state.job_id

    async def log_results(self, number: int, *, path: str, sha256: str) -> None:
        await self._append({"t": "results", "p": number, "path": path, "sha256": sha256})
        state = self.parts[number]
        state.results_path, state.results_sha256 = path, sha256


def _text(line: dict[str, Any], key: str) -> str:
    value = line[key]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key} is not text")
    return value
