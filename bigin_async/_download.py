"""Answers streamed to disk, so a Bulk Read result file never sits whole in memory.

The body goes to ``<path>.part`` in the target's directory, is flushed to disk (fsync) and only
then renamed to ``path``: a reader never finds a half-written file under the final name, and a
download cut short (a dropped connection, a timeout, cancellation) leaves neither file behind.
The part file is created new, never opened through a link: when ``<path>.part`` already exists
(another download to the same path under way, one a crash left, or a link someone planted) the
body goes to a part file of its own, ``<path>.<random>.part``, and the existing one is left alone.
Error answers are small JSON bodies; at most 1 MiB of one is read, into memory, for the error.

A download into a directory (:class:`SaveIn`) takes the file name the server gives
(``Content-Disposition``: ``filename*=UTF-8''...`` or ``filename=``), made safe first: its base
name only, without control characters or leading dots, so a hostile name cannot climb out of the
directory or hide the file.
"""

from __future__ import annotations

import email.utils
import os
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from functools import partial
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread
import httpx

from bigin_async._atomic import sync_directory
from bigin_async.errors import BiginError, ValidationError

__all__ = [
    "ERROR_BODY_CAP",
    "Download",
    "cut_short",
    "SaveIn",
    "filename_of",
    "read_capped",
    "safe_filename",
    "save_body",
    "target_path",
]

ERROR_BODY_CAP = 1 << 20  # bytes of a non-2xx answer kept for its error


@dataclass(frozen=True)
class Download:
    """A file saved to disk (exported as ``bigin_async.Download``).

    ``path`` is where it is, ``size`` the bytes written (the body as decoded, i.e. the file as
    the server meant it), ``content_type`` and ``filename`` what the server said of it (its
    ``Content-Type``, and the name in its ``Content-Disposition``, None when it gave none).
    """

    path: Path
    size: int
    content_type: str | None
    filename: str | None = None


@dataclass(frozen=True)
class SaveIn:
    """Save a download in this existing directory, under the file name the server gives."""

    directory: Path
    default_name: str = "download"


# Unicode's control, format (bidi overrides, zero-width), line and paragraph separator categories.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# A file system's 255 bytes, less the part file's ``.<8 hex>.part`` written beside it first.
_MAX_NAME_BYTES = 255 - len(".12345678.part")


def filename_of(headers: httpx.Headers) -> str | None:
    """The file name in a ``Content-Disposition`` header (RFC 6266, ``filename*`` first), or None."""
    raw = headers.get("content-disposition")
    if not raw:
        return None
    message = Message()
    message["content-disposition"] = raw
    names: list[str] = []
    for key, value in message.get_params(header="content-disposition", failobj=[]):
        if key.lower() != "filename":
            continue
        if isinstance(value, tuple):  # filename*=charset'lang'text: RFC 6266 says it comes first
            try:
                decoded = email.utils.collapse_rfc2231_value(value)
            except (LookupError, ValueError):  # an unknown charset
                continue
            names.insert(0, decoded)
        else:
            names.append(value)
    return next((name for name in names if name.strip()), None)


def _visible(character: str) -> str:
    """A character kept in a file name, or ``_`` for one that controls or hides text."""
    return "_" if unicodedata.category(character) in _HIDDEN or character in "/\\" else character


def safe_filename(name: str | None, default: str = "download") -> str:
    """``name`` as one file name in a directory: its base name only, no control, format or line
    separator characters (a bidi override cannot disguise ``exe.pdf``), no leading dot or space
    (no hidden file, never ``.`` or ``..``), short enough for its part file beside it."""
    if not name:
        return default
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(_visible(character) for character in base)
    while base != (trimmed := base.strip().lstrip(".")):
        base = trimmed
    while len(base.encode()) > _MAX_NAME_BYTES:
        stem, dot, extension = base.rpartition(".")
        base = (stem[:-1] + dot + extension) if dot and len(extension) < 16 and stem else base[:-1]
    base = base.strip()
    return base if base not in ("", ".", "..") else default


def target_path(target: str | os.PathLike[str]) -> Path:
    """The download's path, refused before sending when its directory does not exist."""
    try:
        path = Path(os.fspath(target))
    except TypeError:
        raise ValidationError(f"cannot download to {target!r}: not a path; nothing was sent") from None
    if not path.name:
        raise ValidationError(f"cannot download to {target!r}: it names no file; nothing was sent")
    if path.is_dir():
        raise ValidationError(f"cannot download to {path}: it is a directory; nothing was sent")
    if not path.parent.is_dir():
        raise ValidationError(f"cannot download to {path}: no directory {path.parent}; nothing was sent")
    return path


# Created, never opened through a link nor shared with another download (O_EXCL, O_NOFOLLOW).
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


def _open_part(path: Path) -> tuple[BinaryIO, Path]:
    """A new part file for ``path``: ``<path>.part``, or one of its own name when that exists."""
    part = path.with_name(path.name + ".part")
    while True:
        try:
            return os.fdopen(os.open(part, _NEW_FILE, 0o666), "wb"), part
        except FileExistsError:
            part = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")


def _unwritable(path: Path, error: OSError) -> BiginError:
    return BiginError(
        f"the download to {path} could not be written ({error.strerror or error}); nothing was kept"
    )


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


def cut_short(response: httpx.Response) -> httpx.RemoteProtocolError | None:
    """A body shorter (or longer) than its ``Content-Length``: the answer did not arrive whole."""
    raw = response.headers.get("content-length", "")
    if not raw.isdigit() or int(raw) == response.num_bytes_downloaded:
        return None
    if hasattr(response, "_content"):
        # A body httpx had in memory from the start (httpx.MockTransport's answers): whole, and
        # never counted as downloaded (httpx's own test for a body already read).
        return None
    return httpx.RemoteProtocolError(
        f"the body ended after {response.num_bytes_downloaded} of {int(raw)} bytes", request=response.request
    )


async def _feed(response: httpx.Response, take: Callable[[bytes], bool]) -> None:
    """Give each piece of the body to ``take`` until it says stop (returns False) or raises.

    A ``break`` would leave httpx's body iterators suspended, for the garbage collector to
    finalize; stopping cancels the read in progress instead, so they end where they wait (on the
    socket). An exception ``take`` raised is raised again once they have ended.
    """
    failure: Exception | None = None
    with anyio.CancelScope() as reading:
        async for piece in response.aiter_bytes():
            if reading.cancel_called:
                continue  # a piece already at hand when the read was cancelled
            try:
                if take(piece):
                    continue
            except Exception as exc:  # noqa: BLE001 - raised again below, once the reading ended
                failure = exc
            reading.cancel()
    if failure is not None:
        raise failure


async def save_body(response: httpx.Response, target: Path | SaveIn) -> Download:
    """Stream the body to ``target`` through ``<path>.part``; nothing is left if it is cut short.

    ``target`` is the file's path, or a :class:`SaveIn` directory where the server's file name
    (made safe) is the file's.

    A body that ends early raises ``httpx.RemoteProtocolError`` (a failed attempt, retried like
    any dropped connection); cancellation and any other failure remove the part file too. A file
    that cannot be written (a full disk) raises :class:`BiginError`: the answer came, so
    retrying would only spend another download.
    """
    filename = filename_of(response.headers)
    path = (
        target
        if isinstance(target, Path)
        else target.directory / safe_filename(filename, target.default_name)
    )
    try:
        file, part = _open_part(path)
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    size = 0
    done = False

    def take(chunk: bytes) -> bool:
        nonlocal size
        _write(file, chunk)
        size += len(chunk)
        return True

    try:
        # Each piece is written as it arrives, in this task: a piece (at most 64 KiB from a socket)
        # goes to the page cache at once, and a task that awaits only on the socket leaves httpx's
        # body iterators finished, never suspended, when a timeout or cancellation cuts it.
        await _feed(response, take)
        short = cut_short(response)
        if short is not None:
            raise short
        await anyio.to_thread.run_sync(_sync_and_close, file)
        part.replace(path)  # no await between the rename and ``done``: a cancelled call leaves no file
        done = True
    except OSError as exc:  # the disk full, the directory gone: the answer came, the file cannot be kept
        raise _unwritable(path, exc) from exc
    finally:
        if not done:
            _discard(file, part)
    with anyio.CancelScope(shield=True):  # the file is whole and in place: finish making it durable
        await anyio.to_thread.run_sync(partial(sync_directory, path.parent, quiet=True))
    return Download(path, size, response.headers.get("content-type"), filename)


async def read_capped(response: httpx.Response, cap: int = ERROR_BODY_CAP) -> httpx.Response:
    """The answer with its body read into memory, at most ``cap`` bytes of it (an error's body).

    Reading stops at the cap: an endless error body ends as the error it is, not as a timeout
    (the connection is closed rather than reused, its body unread).
    """
    chunks: list[bytes] = []
    size = 0

    def take(chunk: bytes) -> bool:
        nonlocal size
        kept = chunk[: cap - size]
        if kept:
            chunks.append(kept)
            size += len(kept)
        return size < cap

    await _feed(response, take)
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
