"""Where access tokens live between calls and processes: in memory, or in a file shared by processes.

A store's ``lock`` serialises refreshes: with :class:`FileTokenStore`, workers that share one
refresh token refresh once between them, keep one count of Zoho's 10 refreshes in 10 minutes, and
share a refresh that just failed (:class:`RefreshFailures`) rather than each sending it again.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import anyio
import anyio.lowlevel
import anyio.to_thread

from bigin_async._filelock import try_lock, unlock
from bigin_async._redact import get_logger
from bigin_async.auth._shared_failure import as_time, failure_since
from bigin_async.auth._token import Token, is_time

logger = get_logger("auth")

__all__ = [
    "FileTokenStore",
    "MemoryTokenStore",
    "RefreshFailures",
    "RefreshHistory",
    "TokenStore",
]


@runtime_checkable
class TokenStore(Protocol):
    """Where access tokens live between calls (and processes). ``lock`` serialises refreshes."""

    async def load(self, key: str) -> Token | None: ...

    async def save(self, key: str, token: Token) -> None: ...

    async def clear(self, key: str) -> None: ...

    def lock(self, key: str) -> contextlib.AbstractAsyncContextManager[None]: ...


@runtime_checkable
class RefreshHistory(Protocol):
    """A store that also keeps when refreshes were sent (epoch seconds), for every process that
    shares it: Zoho counts the refreshes of a refresh token, whichever process sent them, so the
    10-in-10 limit can only be kept by counting them in one place. Called under :meth:`TokenStore.lock`."""

    async def update_refreshes(self, key: str, change: Callable[[list[float]], list[float]]) -> list[float]:
        """Replace the kept times by ``change(kept)`` and return the new list."""
        ...


@runtime_checkable
class RefreshFailures(Protocol):
    """A store that also keeps, for a moment, a refresh that failed, for every process that shares it.

    Processes waiting for the store's lock while one of them refreshes would otherwise each send
    the refresh again in turn once the lock is theirs: with the accounts server down, N processes
    make N attempts per episode, and N "Access Denied" answers. The process whose refresh failed
    records the failure under the lock; each waiting process, once it has the lock, finds it and
    raises it instead of sending. ``failure`` is plain JSON (class name, message without secrets,
    code, status, ``when`` in epoch seconds of the recording process's clock).
    """

    async def record_failure(self, key: str, failure: Mapping[str, Any], ttl: float) -> None:
        """Keep ``failure`` for ``ttl`` seconds (replacing any kept before)."""
        ...

    async def recent_failure(self, key: str, since: float) -> Mapping[str, Any] | None:
        """The failure kept, if it is still kept and its ``when`` is at or after ``since``."""
        ...


# How often a lock held by another process is tried again. Polling, rather than a blocking call
# in a worker thread, keeps the wait cancellable: the refresh's own bound ends it.
_LOCK_POLL = 0.05


class MemoryTokenStore:
    """The default: tokens live as long as the process, refreshes serialised within it."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}

    async def load(self, key: str) -> Token | None:
        return self._tokens.get(key)

    async def save(self, key: str, token: Token) -> None:
        self._tokens[key] = token

    async def clear(self, key: str) -> None:
        self._tokens.pop(key, None)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        # The manager runs one refresh at a time within a process already.
        yield


class FileTokenStore:
    """Tokens in a JSON file (mode 0600), refreshes serialised across processes by a lock file
    (``flock``; ``msvcrt.locking`` on Windows).

    Several workers sharing one refresh token point at the same file: the first to find the
    token stale takes the lock and refreshes; the others wait, re-read, and find it fresh.
    The file also keeps when each refresh was sent, so the processes share one count of Zoho's
    10 refreshes in 10 minutes (:class:`RefreshHistory`), and a refresh that just failed, so the
    processes waiting for it do not send it again (:class:`RefreshFailures`).
    A file that is not what this class writes (truncated, hand-edited, another program's) is
    read as empty and rewritten at the next save. A file that cannot be read or written raises
    ``OSError``: the token manager then keeps the token in memory and says so once.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._warned = False
        self._io: tuple[object, anyio.CapacityLimiter] | None = None

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    async def _in_thread(self, work: Callable[[], Any]) -> Any:
        """Run file I/O in a worker thread of this store's own limiter, not anyio's default one: an
        app (FastAPI's sync endpoints) may hold every default worker while waiting for the very
        SDK calls whose refresh needs this file. One limiter per event loop (they are tied to it)."""
        loop = anyio.lowlevel.current_token().native_token
        if self._io is None or self._io[0] is not loop:
            self._io = (loop, anyio.CapacityLimiter(4))
        return await anyio.to_thread.run_sync(work, limiter=self._io[1])

    def _read_all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:  # not JSON, not UTF-8, empty
            data = None
        if isinstance(data, dict):
            return data
        if not self._warned:
            self._warned = True
            logger.warning(
                "token file %s is not a JSON object of tokens; treating it as empty and rewriting it",
                self.path,
                extra={"bigin_event": "token_file_unreadable"},
            )
        return {}

    def _write_all(self, data: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    async def load(self, key: str) -> Token | None:
        data: dict[str, Any] = await self._in_thread(self._read_all)
        entry = data.get(key)
        if not isinstance(entry, Mapping):
            return None
        try:
            return Token.from_json(entry)
        except (KeyError, TypeError, ValueError):
            return None  # a malformed entry is no token: the next save replaces it

    async def save(self, key: str, token: Token) -> None:
        def update() -> None:
            data = self._read_all()
            data[key] = token.to_json()
            self._write_all(data)

        await self._in_thread(update)

    async def clear(self, key: str) -> None:
        def update() -> None:
            data = self._read_all()
            if data.pop(key, None) is not None:
                self._write_all(data)

        await self._in_thread(update)

    async def update_refreshes(self, key: str, change: Callable[[list[float]], list[float]]) -> list[float]:
        """The refresh times kept next to the token (``<key>#refreshes``); entries that are not
        numbers (a hand-edited file) are dropped. A clear keeps them: Zoho's count stays too."""

        def update() -> list[float]:
            data = self._read_all()
            kept = data.get(key + "#refreshes")
            times = [float(t) for t in kept if is_time(t)] if isinstance(kept, list) else []
            new = change(times)
            if new != times or kept != times:
                data[key + "#refreshes"] = new
                self._write_all(data)
            return new

        times: list[float] = await self._in_thread(update)
        return times

    async def record_failure(self, key: str, failure: Mapping[str, Any], ttl: float) -> None:
        """The failure kept next to the token (``<key>#failure``) until ``ttl`` seconds from now
        (this host's clock: every process sharing the file reads the same one)."""

        def update() -> None:
            data = self._read_all()
            data[key + "#failure"] = {**failure, "kept_until": time.time() + ttl}
            self._write_all(data)

        await self._in_thread(update)

    async def recent_failure(self, key: str, since: float) -> Mapping[str, Any] | None:
        data: dict[str, Any] = await self._in_thread(self._read_all)
        entry = failure_since(data.get(key + "#failure"), since)
        if entry is None:
            return None
        until = as_time(entry.get("kept_until"))
        if until is None or until < time.time():
            return None
        return {name: value for name, value in entry.items() if name != "kept_until"}

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while not try_lock(fd):
                await anyio.sleep(_LOCK_POLL)
            try:
                yield
            finally:
                unlock(fd)
        finally:
            os.close(fd)
