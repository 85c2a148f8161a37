"""Answers streamed to disk, so a Bulk Read result file never sits whole in memory.

The body goes to ``<path>.part`` in the target's directory, is flushed to disk (fsync) and only
then renamed to ``path``: a reader never finds a half-written file under the final name, and a
download cut short (a dropped connection, a timeout, cancellation) leaves neither file behind.
Error answers are small JSON bodies; they are read into memory, capped at 1 MiB, for the error.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread
import httpx

from bigin_async.errors import ValidationError

__all__ = ["ERROR_BODY_CAP", "Download", "read_capped", "save_body", "target_path"]

ERROR_BODY_CAP = 1 << 20  # bytes of a non-2xx answer kept for its error


@dataclass(frozen=True)
class Download:
    """A 2xx answer saved to disk: ``response.extensions["bigin_download"]`` of a download call."""

    path: Path
    size: int  # bytes written (the body as decoded, i.e. the file as the server meant it)
    content_type: str | None


def target_path(target: str | os.PathLike[str]) -> Path:
    """The download's path, refused before sending when its directory does not exist."""
    path = Path(os.fspath(target))
    if not path.name:
        raise ValidationError(f"cannot download to {target!r}: it names no file; nothing was sent")
    if path.is_dir():
        raise ValidationError(f"cannot download to {path}: it is a directory; nothing was sent")
    if not path.parent.is_dir():
        raise ValidationError(f"cannot download to {path}: no directory {path.parent}; nothing was sent")
    return path


def _part_of(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _discard(file: BinaryIO, part: Path) -> None:
    file.close()
    part.unlink(missing_ok=True)


def _write(file: BinaryIO, chunk: bytes) -> None:
    file.write(chunk)
    file.flush()  # the part file shows what has arrived (the buffer would hold small pieces back)


def _sync_and_close(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the platform can open and sync a directory:
    elsewhere the rename stands as the file system keeps it)."""
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _cut_short(response: httpx.Response) -> httpx.RemoteProtocolError | None:
    """A body shorter (or longer) than its ``Content-Length``: the answer did not arrive whole."""
    raw = response.headers.get("content-length", "")
    if not raw.isdigit() or int(raw) == response.num_bytes_downloaded:
        return None
    return httpx.RemoteProtocolError(
        f"the body ended after {response.num_bytes_downloaded} of {int(raw)} bytes", request=response.request
    )


async def save_body(response: httpx.Response, path: Path) -> Download:
    """Stream the body to ``path`` through ``<path>.part``; nothing is left if it is cut short.

    A body that ends early raises ``httpx.RemoteProtocolError`` (a failed attempt, retried like
    any dropped connection); cancellation and any other failure remove the part file too.
    """
    part = _part_of(path)
    file = part.open("wb")
    size = 0
    done = False
    try:
        # Each piece is written as it arrives, in this task: a piece (at most 64 KiB from a socket)
        # goes to the page cache at once, and a task that awaits only on the socket leaves httpx's
        # body iterators finished, never suspended, when a timeout or cancellation cuts it.
        async for chunk in response.aiter_bytes():
            _write(file, chunk)
            size += len(chunk)
        short = _cut_short(response)
        if short is not None:
            raise short
        await anyio.to_thread.run_sync(_sync_and_close, file)
        part.replace(path)  # no await between the rename and ``done``: a cancelled call leaves no file
        done = True
    finally:
        if not done:
            _discard(file, part)
    with anyio.CancelScope(shield=True):  # the file is whole and in place: finish making it durable
        await anyio.to_thread.run_sync(_sync_directory, path.parent)
    return Download(path, size, response.headers.get("content-type"))


async def read_capped(response: httpx.Response, cap: int = ERROR_BODY_CAP) -> httpx.Response:
    """The answer with its body read into memory, at most ``cap`` bytes of it (an error's body)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():  # read to the end (the attempt's timeout bounds it)
        kept = chunk[: cap - size]
        if kept:
            chunks.append(kept)
            size += len(kept)
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_HEADERS]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(chunks),
        request=response.request,
        extensions=response.extensions,
    )


# Headers that describe the body as it came over the wire, not the decoded bytes kept.
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
