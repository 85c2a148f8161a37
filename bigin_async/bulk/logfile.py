"""An append-only JSON-lines file that survives crashes: the machinery both bulk journals stand on.

The journal of the call-based bulk writes (:mod:`bigin_async.bulk.journal`) and the journal of
Bulk Write jobs (:mod:`bigin_async.bulk.jobs.journal`) log different things, but they must be
written and read back the same careful way, so that a crash or a full disk never loses, doubles
or misreads a line:

- one run at a time: an exclusive lock on ``<journal>.lock`` (``flock``; ``msvcrt.locking`` on
  Windows, the lock the token file uses), taken without waiting before the file is read, held
  until the run ends, dropped by the system when a process dies. A second run, in another
  process or the same one, gets :class:`~bigin_async.errors.JournalError` before sending anything.
  The lock file is left in place: removing it could let a run waiting on the removed file and a
  new run locking a new one both go;
- every line is written unbuffered and fsynced before the write returns; a new file's directory
  is fsynced too (a power cut could otherwise lose the whole file although each line was synced);
- a crash can tear the last line: loading stops at the last complete line, and the torn tail is
  cut off before anything is appended (appended after it, the next line would be glued to the
  fragment and lost). Any other unreadable line is a :class:`~bigin_async.errors.JournalError`
  naming it: resuming from a misread journal could double or skip work, so nothing is guessed;
- a write that fails (disk full, I/O error) is cut off again and the file refuses every later
  write, which stops the run: nothing is sent unless its line is on disk.

A subclass says what its header is and what a line means (:meth:`AppendOnlyLog._header`,
:meth:`AppendOnlyLog._apply`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from bigin_async._atomic import sync_directory
from bigin_async._filelock import try_lock, unlock
from bigin_async._redact import get_logger
from bigin_async.errors import JournalError

logger = get_logger("bulk")

__all__ = ["AppendOnlyLog", "dump_line", "make_directories", "sync_directory"]

# Files locked by runs of this process (resolved paths): the system lock alone would let a second
# run of the same process through where locks are per process (NFS, some platforms).
_IN_USE: set[str] = set()
_IN_USE_GUARD = threading.Lock()


class AppendOnlyLog:
    """One crash-safe JSON-lines file, locked for one run; subclasses give its lines a meaning."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._cut_at: int | None = None  # where a torn tail starts, cut before appending
        self._handle: io.FileIO | None = None
        self._broken: OSError | None = None  # a write failed: nothing more is appended
        self._lock = anyio.Lock()
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._held: tuple[int, str] | None = None  # the lock file's descriptor, the key in _IN_USE

    # -- what a subclass says ----------------------------------------------------------------------
    def _new_header(self) -> dict[str, Any]:
        """The first line of a new file."""
        raise NotImplementedError

    def _headers(self) -> list[bytes]:
        """Every header this kind of file may start with (a torn first line must be a prefix of one)."""
        return [dump_line(self._new_header())]

    def _header(self, line: Any) -> None:
        """Check the first line (raise :meth:`_error` if it is not this file's kind)."""
        raise NotImplementedError

    def _apply(self, number: int, line: Any) -> None:
        """Take in one complete line after the header."""
        raise NotImplementedError

    # -- one run at a time -----------------------------------------------------------------------
    def lock(self) -> None:
        """Take the file for this run alone, or raise :class:`JournalError` if another run has it.

        Non-blocking: a second run stops at once, before reading or sending anything, rather than
        waiting for the first to end and then resuming work it cannot know was done meanwhile.
        Released by :meth:`close` (and by the system if the process dies).
        """
        if self._held is not None:
            return
        make_directories(self.path.parent)
        key = os.path.realpath(self.path)
        with _IN_USE_GUARD:
            if key in _IN_USE:
                raise self._in_use()
            _IN_USE.add(key)
        try:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except BaseException:
            self._forget(key)
            raise
        try:
            taken = try_lock(fd)
        except BaseException:
            os.close(fd)
            self._forget(key)
            raise
        if not taken:
            os.close(fd)
            self._forget(key)
            raise self._in_use()
        self._held = (fd, key)

    def lock_and_load(self) -> None:
        """:meth:`lock`, then :meth:`load`; a file that cannot be read is unlocked again."""
        self.lock()
        try:
            self.load()
        except BaseException:
            self.close()
            raise

    def _in_use(self) -> JournalError:
        return JournalError(
            f"journal {self.path} is in use by another run (its lock {self._lock_path.name} is held); "
            "wait for that run to end, or give this one another journal",
            path=str(self.path),
        )

    @staticmethod
    def _forget(key: str) -> None:
        with _IN_USE_GUARD:
            _IN_USE.discard(key)

    # -- reading ---------------------------------------------------------------------------------
    def load(self) -> None:
        """Read what earlier runs logged; a torn last line (a crash mid-write) is set aside to be cut."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        offset = 0
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.endswith(b"\n"):  # only the last line can lack its newline: torn
                    self._torn(number, raw, offset)
                    break
                line = self._parse(number, raw)
                if number == 1:
                    self._header(line)
                else:
                    self._apply(number, line)
                offset += len(raw)

    def _torn(self, number: int, raw: bytes, offset: int) -> None:
        if number == 1 and not any(header.startswith(raw) for header in self._headers()):
            raise self._error(1, "is not a journal header: this file is not a journal of this bulk write")
        logger.warning(
            "journal %s: line %d was torn by a crash mid-write; it is cut off before appending",
            self.path,
            number,
            extra={"bigin_event": "journal_torn_line"},
        )
        self._cut_at = offset

    def _parse(self, number: int, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: a line nested past the parser
            pass
        if number == 1:
            raise self._error(
                1, "is not a journal header: this file is not a journal, or its header is damaged"
            )
        raise self._error(number, "is not readable JSON, and it is not the torn last line a crash leaves")

    def _error(self, line: int, what: str) -> JournalError:
        return JournalError(f"journal {self.path}: line {line} {what}", path=str(self.path), line=line)

    # -- writing ---------------------------------------------------------------------------------
    def _open(self) -> io.FileIO:
        if self._handle is None:
            make_directories(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                if self._cut_at is not None:
                    # Cut the torn tail first: appended after it, the next line would be unreadable.
                    os.ftruncate(fd, self._cut_at)
                    os.fsync(fd)
                    self._cut_at = None
            except BaseException:
                os.close(fd)
                raise
            # Unbuffered: a line is on its way to the disk when write returns, and a failed write
            # leaves nothing in a buffer for close() to append later, after the line was taken back.
            self._handle = os.fdopen(fd, "ab", buffering=0)
            if os.fstat(fd).st_size == 0:
                self._write_now([self._new_header()])
                # A new file's name lives in its directory: without syncing that too, a power cut
                # can lose the whole journal although each of its lines was synced.
                sync_directory(self.path.parent)
        return self._handle

    def _write_now(self, lines: Sequence[dict[str, Any]]) -> None:
        """Append ``lines`` and fsync them, or raise :class:`JournalError` and append nothing ever again.

        A write or fsync that fails (disk full, I/O error) leaves the line in doubt: it is cut off
        again (so no half line stays in the middle of the journal, where it would make it
        unreadable) and the journal refuses every later write, which stops the run: nothing is
        sent unless its line is on disk.
        """
        if self._broken is not None:
            raise self._unwritable(self._broken)
        try:
            handle = self._open()  # may cut a torn tail, create the file, sync its directory
        except OSError as error:
            self._broken = error
            raise self._unwritable(error) from error
        fd = handle.fileno()
        data = memoryview(b"".join(dump_line(line) + b"\n" for line in lines))
        start = os.fstat(fd).st_size
        try:
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        except OSError as error:
            self._broken = error
            with contextlib.suppress(OSError):  # best effort: a line left in doubt reads as never written
                os.ftruncate(fd, start)
                os.fsync(fd)
            raise self._unwritable(error) from error

    def _unwritable(self, error: OSError) -> JournalError:
        return JournalError(
            f"journal {self.path} could not be written ({error}); the run stopped so that nothing is "
            "sent without being journaled. Free the disk and run again with this journal to resume",
            path=str(self.path),
        )

    async def _append(self, line: dict[str, Any]) -> None:
        async with self._lock:
            await anyio.to_thread.run_sync(self._write_now, [line])

    def close(self) -> None:
        """Close the file and release the run's lock (the lock last: the file is complete by then)."""
        try:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
        finally:
            if self._held is not None:
                fd, key = self._held
                self._held = None
                try:
                    unlock(fd)
                finally:
                    os.close(fd)
                    self._forget(key)


def make_directories(path: Path) -> None:
    """``mkdir -p``, each directory it creates synced into its parent (a power cut keeps the path)."""
    missing = [directory for directory in (path, *path.parents) if not directory.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for directory in reversed(missing):
        sync_directory(directory.parent)


def dump_line(line: Mapping[str, Any]) -> bytes:
    """One journal line as compact JSON (no newline)."""
    return json.dumps(line, separators=(",", ":"), default=str).encode()
