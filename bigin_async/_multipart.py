"""Multipart/form-data bodies streamed from their sources, so an upload never sits whole in memory.

Zoho takes files as multipart parts: a Bulk Write zip and an attachment as the field ``file``, the
Files API several ``file`` parts a request, a link attachment as the text field ``attachmentUrl``.
A body is each part's header, its content read in chunks, and the closing boundary; its length is
known before sending (every source's size plus the framing), so the request carries a
``Content-Length`` rather than a chunked body.

A file's content comes from a path (opened again for each attempt), bytes, or a file object, sync
or async (``anyio.open_file``'s, aiofiles', anything whose ``read(n)`` returns bytes or an
awaitable of them, a coroutine function or not). A sync file object is read in a worker thread
the call's timeout can leave behind (a stalled pipe does not hold the call). A file object
seekable is sought back to where it stood for a retry; one that is not (a pipe, a socket) is read
once: when a retry would need it again the call ends with the first attempt's failure instead of
sending half a file. A file that fails to read half way ends the call with a
:class:`ValidationError` (the body was cut short, so Zoho applied nothing), its ``OSError`` kept
as the cause.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import mimetypes
import os
import secrets
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path, PurePath
from typing import Any, Protocol, Union, cast, runtime_checkable

import anyio.to_thread
import httpx

from bigin_async.errors import BiginError, FileTooLargeError, ValidationError

__all__ = [
    "CHUNK_SIZE",
    "AsyncReadable",
    "FileChunks",
    "FileSource",
    "FormField",
    "MultipartBody",
    "Part",
    "Readable",
    "Upload",
    "prepare_parts",
    "upload_file",
]

CHUNK_SIZE = 256 * 1024  # bytes read from a source at a time (one worker-thread hop for a file)
DEFAULT_CONTENT_TYPE = "application/octet-stream"


class Readable(Protocol):
    """A binary file object: ``f.read(n)`` gives at most ``n`` bytes, ``b""`` at the end."""

    def read(self, size: int = ..., /) -> bytes: ...


@runtime_checkable
class AsyncReadable(Protocol):
    """An async file object: ``await f.read(n)`` gives at most ``n`` bytes, ``b""`` at the end."""

    def read(self, size: int = ..., /) -> Awaitable[bytes]: ...


FileSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Readable, AsyncReadable]
"""What an upload's content may come from: a path, bytes, or a file object (sync or async)."""


def _quoted(value: str) -> str:
    """A header parameter's quoted value as browsers write it (``"`` and line breaks escaped)."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def upload_file(file: str | os.PathLike[str]) -> tuple[Path, int]:
    """``file`` as a path and its size, if it is a regular file one can read; else
    :class:`ValidationError` ("cannot upload ..."), before anything is sent."""
    try:
        path = Path(os.fspath(file))
    except TypeError:
        raise ValidationError(f"cannot upload {file!r}: not a path; nothing was sent") from None
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValidationError(f"cannot upload {path}: {exc.strerror or exc}; nothing was sent") from None
    if not path.is_file():
        raise ValidationError(f"cannot upload {path}: not a regular file; nothing was sent")
    return path, size


def _is_path(source: object) -> bool:
    return isinstance(source, (str, os.PathLike))


def _is_bytes(source: object) -> bool:
    return isinstance(source, (bytes, bytearray, memoryview))


def _is_file(source: object) -> bool:
    return callable(getattr(source, "read", None)) and not isinstance(source, io.TextIOBase)


def _plain_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name or any(c in name for c in '"\r\n') or not _encodes(name):
        raise ValidationError(f"the multipart {what} must be a plain, non-empty name, got {name!r}")
    return name


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _sendable(name: str) -> str:
    """``name`` as UTF-8 can carry it. A file name on Linux is bytes: one not written in UTF-8
    (``café.pdf`` in Latin-1) comes back from the OS with lone surrogates, and its undecodable
    bytes are sent as U+FFFD (``caf\ufffd.pdf``); any other lone surrogate as ``?``."""
    if _encodes(name):
        return name
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return name.encode("utf-8", "replace").decode()


@dataclass(frozen=True, repr=False, eq=False)
class Upload:
    """A file to send as one multipart/form-data part (exported as ``bigin_async.Upload``).

    ``source`` is a path, bytes, or a file object opened in binary mode (sync, or async such as
    ``anyio.open_file``'s). ``Transport.send(..., upload=Upload("contacts.zip"))`` streams it in
    chunks, never whole, and reads it again from the start if the call is retried. ``filename``
    defaults to the path's (or file object's) own name; ``content_type`` to a guess from the
    name, else ``application/octet-stream``; a name that is not valid UTF-8 (a Latin-1 name
    on Linux) is sent with U+FFFD in place of its undecodable bytes (pass ``filename`` to choose
    it). ``size`` is needed only for a file object that cannot seek (a pipe). ``max_size``
    refuses a larger file with :class:`FileTooLargeError` before anything is sent.

    A file object is sent from where it stands. One closed, open in text mode, or at its end
    with nothing left to send (the same file object uploaded a second time, or written and not
    sought back) is refused with :class:`ValidationError` before anything is sent; give
    ``size=0`` to send an empty file from the end of one on purpose.
    """

    source: FileSource
    _: KW_ONLY
    field: str = "file"
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    max_size: int | None = None

    def __post_init__(self) -> None:
        source = self.source
        if isinstance(source, io.TextIOBase):
            raise ValidationError("the upload's file object is open in text mode; open it with 'rb'")
        if not (_is_path(source) or _is_bytes(source) or _is_file(source)):
            raise ValidationError(
                f"the upload's source must be a path, bytes or a binary file object, got {source!r:.80}"
            )
        if self.filename is not None and (not isinstance(self.filename, str) or not self.filename.strip()):
            raise ValidationError(f"the upload's filename must be a non-empty string, got {self.filename!r}")
        _plain_name(self.field, "field")
        if self.content_type is not None and (
            not isinstance(self.content_type, str)
            or not self.content_type.strip()
            or any(c in self.content_type for c in "\r\n")
        ):
            raise ValidationError(f"the upload's content_type must be one line, got {self.content_type!r}")
        for name in ("size", "max_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValidationError(f"the upload's {name} must be a number of bytes, got {value!r}")

    def __repr__(self) -> str:
        kind = "path" if _is_path(self.source) else "bytes" if _is_bytes(self.source) else "file"
        return f"Upload({kind}, field={self.field!r}, filename={self.name!r})"

    @property
    def path(self) -> Path | None:
        """The file's path, when the source is one (None for bytes and file objects)."""
        return Path(os.fspath(cast("os.PathLike[str]", self.source))) if _is_path(self.source) else None

    @property
    def name(self) -> str:
        """The file name Zoho is given: ``filename``, else the source's own name, else ``file``."""
        if self.filename is not None:
            return _sendable(self.filename)
        if _is_path(self.source):
            return _sendable(Path(os.fspath(cast("os.PathLike[str]", self.source))).name or "file")
        own = getattr(self.source, "name", None)
        if isinstance(own, (str, os.PathLike)):
            return _sendable(PurePath(os.fspath(own)).name or "file")
        return "file"

    def with_limit(self, max_size: int | None) -> Upload:
        """This upload with at most ``max_size`` bytes allowed (the stricter of the two limits)."""
        if max_size is None or (self.max_size is not None and self.max_size <= max_size):
            return self
        return Upload(
            self.source,
            field=self.field,
            filename=self.filename,
            content_type=self.content_type,
            size=self.size,
            max_size=max_size,
        )

    async def part(self) -> Part:
        """The part for the source as it is now: its size known, its limit checked."""
        name = self.name
        if any(unicodedata.category(character) == "Cc" for character in name):
            # The header would carry it escaped (%0D%0A) and Zoho would store another name than
            # the one asked for: a file name is one line of printable text.
            raise ValidationError(
                f"cannot upload {name!r}: its file name holds a control character (a line break, "
                "a tab...); pass filename= with a plain name; nothing was sent"
            )
        content_type = self.content_type or mimetypes.guess_type(name)[0] or DEFAULT_CONTENT_TYPE
        source = await _open_source(self)
        if self.max_size is not None and source.size > self.max_size:
            raise FileTooLargeError(
                f"cannot upload {name}: it has {source.size:,} bytes and at most {self.max_size:,} are "
                "taken; nothing was sent",
                filename=name,
                size=source.size,
                limit=self.max_size,
            )
        head = (
            f'Content-Disposition: form-data; name="{self.field}"; filename="{_quoted(name)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        return Part(head, source, is_file=True)


@dataclass(frozen=True)
class FormField:
    """A text part of a multipart body (Zoho's ``attachmentUrl`` and ``title`` for a link)."""

    name: str
    value: str

    def __post_init__(self) -> None:
        _plain_name(self.name, "field")
        if not isinstance(self.value, str) or not _encodes(self.value):
            raise ValidationError(f"the form field {self.name!r} must be text, got {self.value!r:.80}")

    async def part(self) -> Part:
        head = f'Content-Disposition: form-data; name="{self.name}"\r\n\r\n'.encode()
        return Part(head, _BytesSource(self.value.encode(), f"the {self.name} field"), is_file=False)


class _Source:
    """Where one part's content comes from, with its size known before sending."""

    size: int
    label: str

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[_Reader]:
        raise NotImplementedError  # pragma: no cover - every source defines it
        yield  # pragma: no cover

    def check_sendable(self) -> None:
        """Raise when this source cannot give its bytes again (a path or bytes always can)."""


class _Reader(Protocol):
    async def read(self, size: int) -> bytes: ...


class _BytesSource(_Source):
    def __init__(self, data: bytes | bytearray | memoryview, label: str) -> None:
        view = memoryview(data)
        if not view.c_contiguous:  # a strided view (``view[::2]``): its bytes, in order, copied once
            view = memoryview(view.tobytes())
        self._data = view.cast("B")  # a view of wider items counts and sends bytes
        self.size = len(self._data)
        self.label = label

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[_Reader]:
        yield _MemoryReader(self._data)


class _MemoryReader:
    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._at = 0

    async def read(self, size: int) -> bytes:
        chunk = bytes(self._data[self._at : self._at + size])
        self._at += len(chunk)
        return chunk


class _PathSource(_Source):
    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self.label = str(path)

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[_Reader]:
        try:
            file = self.path.open("rb")
        except OSError as exc:
            raise ValidationError(f"cannot upload {self.path}: {exc.strerror or exc}; not sent") from exc
        try:
            yield _SyncReader(file, self.label)
        finally:
            file.close()


class _SyncReader:
    """A file the upload opened itself: read in a worker thread, waited for when cancelled (it
    is closed right after, which must not race a read still running)."""

    def __init__(self, file: Any, label: str) -> None:
        self._file = file
        self._label = label

    async def read(self, size: int) -> bytes:
        try:
            chunk = await anyio.to_thread.run_sync(self._file.read, size)
        except (OSError, ValueError) as exc:
            raise _read_failed(self._label, "reading it", exc) from exc
        return _checked_chunk(chunk)


def _read_failed(label: str, doing: str, exc: Exception) -> ValidationError:
    # The Content-Length promised the whole file: a body cut short is one the server cannot
    # accept, so nothing was applied; the file's own error is kept as the cause.
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
    return ValidationError(
        f"cannot upload {label}: {doing} failed ({reason}); the upload was abandoned and nothing was applied"
    )


def _checked_chunk(chunk: object) -> bytes:
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    if not isinstance(chunk, bytes):
        raise ValidationError(
            f"the upload's file object gave {type(chunk).__name__}, not bytes: open it in binary mode; "
            "the upload was abandoned and nothing was applied"
        )
    return chunk


class _FileCalls:
    """A caller's file object's methods, called the way the object needs.

    An ``io`` object is sync and a coroutine function is async; anything else is known by its
    first answer: an awaitable (an object delegating to an async file) is awaited, and the
    object's calls are made on the event loop from then on. A sync call runs in a worker thread
    the call's timeout may leave behind, since a read of a stalled pipe never returns; while such
    a call still runs, the file is not used again.
    """

    def __init__(self, file: Any) -> None:
        self.file = file
        self.is_async: bool | None = (
            False
            if isinstance(file, io.IOBase)
            else True
            if inspect.iscoroutinefunction(getattr(file, "read", None))
            else None
        )
        # Worker-thread calls not returned yet (left behind by a cancellation): a set, since a
        # thread removes its own (one call, atomic) while the loop may add another.
        self._running: set[object] = set()

    @property
    def running(self) -> bool:
        """Whether a call left behind in a worker thread has not returned yet."""
        return bool(self._running)

    async def __call__(self, name: str, *args: Any) -> Any:
        method = getattr(self.file, name)
        if self.is_async or inspect.iscoroutinefunction(method):
            result = method(*args)
        else:
            token = object()
            self._running.add(token)  # before the thread starts: one left behind may start late
            (result,) = await anyio.to_thread.run_sync(self._run, token, method, args, abandon_on_cancel=True)
        if inspect.isawaitable(result):
            self.is_async = True
            return await result
        return result

    def _run(self, token: object, method: Any, args: tuple[Any, ...]) -> tuple[Any]:
        # Boxed: trio refuses a worker thread's answer that is a coroutine (a delegating read's).
        try:
            return (method(*args),)
        finally:
            self._running.discard(token)


class _FileObjectSource(_Source):
    """A caller's file object: read from where it stood, sought back there for a retry if it can."""

    def __init__(self, calls: _FileCalls, size: int, start: int | None, label: str) -> None:
        self._calls = calls
        self.size = size
        self._start = start  # None: it cannot seek, so it is read once
        self.consumed = False  # an attempt read from it
        self.label = label

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[_Reader]:
        self.check_sendable()
        if self.consumed:
            try:
                await self._calls("seek", self._start)
            except (OSError, ValueError) as exc:
                raise _read_failed(self.label, "seeking its file object back for a retry", exc) from exc
        yield self

    def check_sendable(self) -> None:
        if self.consumed:
            if self._calls.running:
                raise BiginError(
                    f"the upload of {self.label} cannot be sent again: a read of its file object "
                    "did not return before the last attempt ended (a stalled pipe or disk)"
                )
            if self._start is None:
                raise BiginError(
                    f"the upload of {self.label} cannot be sent again: its file object cannot seek "
                    "back to the start (pass a path, bytes or a seekable file to allow a retry)"
                )

    async def read(self, size: int) -> bytes:
        self.consumed = True
        try:
            chunk = await self._calls("read", size)
        except (OSError, ValueError) as exc:
            raise _read_failed(self.label, "reading it", exc) from exc
        return _checked_chunk(chunk)


async def _file_position(calls: _FileCalls) -> tuple[int, int] | None:
    """Where a file object stands and how many bytes follow, or None when it cannot seek."""
    try:
        if getattr(calls.file, "seekable", None) is not None and not await calls("seekable"):
            return None
        start = await calls("tell")
        end = await calls("seek", 0, os.SEEK_END)
        await calls("seek", start)
    except (AttributeError, OSError, ValueError, TypeError):
        return None
    if not isinstance(start, int) or not isinstance(end, int):
        return None
    return start, max(0, end - start)


def _is_text(file: object) -> bool:
    """Whether a file object gives text: an ``io`` text file, or an async one wrapping one
    (anyio's ``.wrapped``) or opened without ``b`` in its ``mode`` (aiofiles)."""
    if isinstance(file, io.IOBase):  # a binary io object is binary whatever its mode says (a zip member: "r")
        return isinstance(file, io.TextIOBase)
    wrapped = getattr(file, "wrapped", None)
    if isinstance(wrapped, io.IOBase):
        return isinstance(wrapped, io.TextIOBase)
    mode = getattr(file, "mode", None)
    return isinstance(mode, str) and "b" not in mode


def _usable_file(file: object, name: str) -> None:
    """Refuse, before sending, a file object that cannot give the upload's bytes."""
    if getattr(file, "closed", False) is True:
        raise ValidationError(f"cannot upload {name}: its file object is closed; nothing was sent")
    if _is_text(file):
        raise ValidationError(
            f"cannot upload {name}: its file object is open in text mode; open it in binary mode "
            "('rb'); nothing was sent"
        )


async def _open_source(upload: Upload) -> _Source:
    source = upload.source
    if _is_path(source):
        path, size = upload_file(cast("os.PathLike[str]", source))
        return _PathSource(path, size)
    if _is_bytes(source):
        return _BytesSource(cast(bytes, source), upload.name)
    _usable_file(source, upload.name)
    calls = _FileCalls(source)
    position = await _file_position(calls)
    if position is not None:
        start, size = position
        if upload.size is not None and upload.size != size:
            raise ValidationError(
                f"cannot upload {upload.name}: size={upload.size} was given but {size} bytes follow "
                "in the file; nothing was sent"
            )
        if size == 0 and start > 0 and upload.size is None:
            raise ValidationError(
                f"cannot upload {upload.name}: its file object is at its end (byte {start:,}), so "
                "nothing is left to send: was it uploaded already? Seek it back (file.seek(0)) to "
                "send it again, or give size=0 to send an empty file; nothing was sent"
            )
        return _FileObjectSource(calls, size, start, upload.name)
    if upload.size is None:
        raise ValidationError(
            f"cannot upload {upload.name}: its file object cannot seek, so give its size "
            "(Upload(file, size=...)); Zoho needs the length before the body; nothing was sent"
        )
    return _FileObjectSource(calls, upload.size, None, upload.name)


@dataclass(frozen=True)
class Part:
    """One part of a body: its headers (after the boundary line), its content's source, and
    whether it is a file (an :class:`Upload`) rather than a text field."""

    head: bytes
    source: _Source
    is_file: bool = True


async def prepare_parts(parts: Upload | FormField | Sequence[Upload | FormField]) -> MultipartBody:
    """The body for ``parts`` as they are now; refuses a path that is not a readable file, a
    file over its ``max_size``, or no part at all, before anything is sent."""
    items: Sequence[Upload | FormField] = [parts] if isinstance(parts, (Upload, FormField)) else parts
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not items:
        raise ValidationError("an upload needs at least one Upload or FormField part; nothing was sent")
    for item in items:
        if not isinstance(item, (Upload, FormField)):
            raise ValidationError(f"an upload's parts are Upload or FormField objects, got {item!r:.80}")
    return MultipartBody([await item.part() for item in items], secrets.token_hex(16))


@dataclass(frozen=True)
class MultipartBody:
    """One prepared body: its headers and, for each attempt, its bytes in chunks."""

    parts: list[Part]
    boundary: str
    _frames: list[bytes] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        frames = [
            (b"\r\n" if index else b"") + f"--{self.boundary}\r\n".encode() + part.head
            for index, part in enumerate(self.parts)
        ]
        object.__setattr__(self, "_frames", [*frames, f"\r\n--{self.boundary}--\r\n".encode()])

    @property
    def name(self) -> str:
        """What the body carries, for messages: the first file's name (and how many more), or,
        with no file in it, its text fields."""
        files = [part.source.label for part in self.parts if part.is_file]
        if not files:
            return " and ".join(part.source.label for part in self.parts)
        first = PurePath(files[0]).name or files[0]
        return first if len(files) == 1 else f"{first} and {len(files) - 1} more file(s)"

    @property
    def size(self) -> int:
        return sum(len(frame) for frame in self._frames) + sum(part.source.size for part in self.parts)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(self.size),
        }

    def check_sendable(self) -> None:
        """Raise the :class:`BiginError` :meth:`open` would, when a file object an attempt read
        cannot be read again (it cannot seek, or a read the last attempt left behind still
        runs): called before a retry spends a send time, it ends the call with nothing sent."""
        for part in self.parts:
            part.source.check_sendable()

    @asynccontextmanager
    async def open(self) -> AsyncIterator[FileChunks]:
        """The body's chunks for one attempt, every source opened now and closed on leaving."""
        async with contextlib.AsyncExitStack() as stack:
            readers = [await stack.enter_async_context(part.source.opened()) for part in self.parts]
            yield FileChunks(self, readers)

    def _changed(self, source: _Source) -> ValidationError:
        # The Content-Length promised the size the file had: the server gets an incomplete body
        # and cannot accept it, so nothing was applied.
        return ValidationError(
            f"{source.label} changed size while it was being uploaded (it had {source.size} bytes); "
            "the upload was abandoned and nothing was applied"
        )


class FileChunks(httpx.AsyncByteStream):
    """The body of one attempt: each part's framing and content in chunks, the closing boundary.

    A request stream in its own right (``request.stream``) and a plain iterator, not an async
    generator: when the connection fails half way and the sending stops, no generator is left
    suspended for the garbage collector to finalize.
    """

    def __init__(self, body: MultipartBody, readers: list[_Reader]) -> None:
        self._body = body
        self._readers = readers
        self._index = 0  # the part whose frame comes next (len(parts): the closing boundary)
        self._reading = False  # the part's content comes next
        self._left = 0
        self._done = False

    def __aiter__(self) -> FileChunks:
        return self

    async def __anext__(self) -> bytes:
        body = self._body
        while self._reading:
            source = body.parts[self._index - 1].source
            reader = self._readers[self._index - 1]
            if self._left > 0:
                chunk = await reader.read(min(CHUNK_SIZE, self._left))
                if not chunk or len(chunk) > self._left:
                    raise body._changed(source)
                self._left -= len(chunk)
                return chunk
            if await reader.read(1):
                raise body._changed(source)
            self._reading = False
        if self._done:
            raise StopAsyncIteration
        frame = body._frames[self._index]
        if self._index == len(body.parts):
            self._done = True
        else:
            self._left = body.parts[self._index].source.size
            self._reading = True
            self._index += 1
        return frame
