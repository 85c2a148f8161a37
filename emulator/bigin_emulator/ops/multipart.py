"""Reading ``multipart/form-data`` bodies as they arrive: Zoho's file uploads, bounded in size.

Every upload the emulator takes comes this way: a Bulk Write zip on the file host, an attachment
or a link (``attachmentUrl``, ``title``), a record photo, several ``file`` parts to the Files API.
``FormParser`` is fed the body chunk by chunk and keeps only what it must: the content of each
part and, between feeds, a tail shorter than the boundary, so a body is scanned once (no copy of
what came before on each chunk) and never held beyond the limits it was given. A part's file name
comes from ``filename*=UTF-8''...`` (RFC 5987) when sent, else ``filename="..."`` (UTF-8, with the
``%22`` and control-character escapes browsers and httpx write).

``read_form`` reads a request's body through an ASGI ``receive``: a ``Content-Length`` over the
limit is refused before any byte is read, a body that grows past it while it arrives (a chunked
one, or one whose ``Content-Length`` lied) as soon as it does. A body whose client went away
before its end has no parts at all (even those already closed by a boundary), so nothing of a
torn upload is kept; a part not closed by its boundary is never kept half.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = [
    "MAX_HEAD_BYTES",
    "FormParser",
    "FormPart",
    "FormTooLarge",
    "MalformedForm",
    "TooManyParts",
    "boundary_of",
    "declared_length",
    "parse_form",
    "read_form",
]

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

MAX_HEAD_BYTES = 16 * 1024  # a part's headers; more is not a form any client sends
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*(?:"([^"]*)"|([^;]*))')
_ESCAPED = re.compile("%22|%[01][0-9A-Fa-f]")


class FormTooLarge(Exception):
    """The body, or one part of it, passed ``limit`` bytes (``what``: "body" or "part")."""

    def __init__(self, limit: int, what: str) -> None:
        super().__init__(f"the {what} is larger than {limit} bytes")
        self.limit = limit
        self.what = what


class TooManyParts(Exception):
    """The body has more than ``limit`` parts."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} parts")
        self.limit = limit


class MalformedForm(Exception):
    """The body is not a form any client writes (a part's headers past ``MAX_HEAD_BYTES``)."""


@dataclass
class FormPart:
    """One part: its field ``name``, the file's ``filename`` and ``content_type`` when sent."""

    name: str | None
    filename: str | None = None
    content_type: str | None = None
    content: bytearray = field(default_factory=bytearray, repr=False)

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def is_file(self) -> bool:
        return self.filename is not None

    def text(self) -> str:
        """A text field's value (UTF-8, as browsers and httpx send it)."""
        return self.content.decode("utf-8", errors="replace")


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` content type, or None for anything else."""
    if not content_type.lower().lstrip().startswith("multipart/form-data"):
        return None
    match = _BOUNDARY.search(content_type)
    if match is None:
        return None
    return (match.group(1) or match.group(2)).encode("latin-1")


def _unescape_quoted(value: str) -> str:
    """A quoted value as forms write it: ``"`` and control characters %-escaped (browsers escape
    line breaks only, httpx every control character). A doubled backslash is one (httpx doubles
    them; browsers and the SDK do not, so a lone one stays itself: a Windows path's, say)."""
    value = _ESCAPED.sub(lambda match: chr(int(match.group(0)[1:], 16)), value)
    return value.replace("\\\\", "\\")


def _disposition(value: str) -> dict[str, str]:
    """``form-data; name="file"; filename*=UTF-8''%E2%82%AC.pdf`` as its parameters."""
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value):
        key = match.group(1).lower()
        quoted, bare = match.group(2), match.group(3)
        params[key] = _unescape_quoted(quoted) if quoted is not None else bare.strip()
    extended = params.pop("filename*", None)
    if extended is not None:
        charset, _, rest = extended.partition("'")
        _, _, encoded = rest.partition("'")
        try:
            params["filename"] = unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass  # an extended name one cannot read: the plain one (if any) stands
    return params


def _part_of(head: bytes) -> FormPart:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    part = FormPart(None)
    for line in text.split("\r\n"):
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "content-disposition":
            params = _disposition(value)
            part.name = params.get("name")
            part.filename = params.get("filename")
        elif key == "content-type":
            value = value.strip()
            part.content_type = value if value and value.isprintable() else None  # no header tricks
    return part


_BODY, _AFTER_DELIMITER, _HEAD, _END = range(4)


class FormParser:
    """An incremental ``multipart/form-data`` parser for one body (see the module docstring).

    ``max_part_bytes`` bounds each part's content and ``max_parts`` the parts, both checked as
    the bytes arrive (``FormTooLarge``, ``TooManyParts``). ``parts`` holds the parts closed by a
    boundary so far; ``finish()`` returns them once the body has ended.
    """

    def __init__(
        self, boundary: bytes, *, max_part_bytes: int | None = None, max_parts: int | None = None
    ) -> None:
        self._delimiter = b"\r\n--" + boundary
        # A body starts with its first delimiter, without the line break before the others.
        self._buffer = bytearray(b"\r\n")
        self._state = _BODY
        self._current: FormPart | None = None  # None while reading the preamble
        self._max_part_bytes = max_part_bytes
        self._max_parts = max_parts
        self.parts: list[FormPart] = []

    def feed(self, chunk: bytes) -> None:
        if self._state == _END or not chunk:
            return
        self._buffer += chunk
        while self._step():
            pass

    def finish(self) -> list[FormPart]:
        """The complete parts; one still open when the body ended is left out."""
        self._state = _END
        self._buffer.clear()
        self._current = None
        return self.parts

    def _step(self) -> bool:
        """Move on as far as the buffer allows; True when the state changed (step again)."""
        if self._state == _BODY:
            return self._body()
        if self._state == _AFTER_DELIMITER:
            return self._after_delimiter()
        return self._head()  # the end stops ``feed`` before any step

    def _body(self) -> bool:
        buffer, delimiter = self._buffer, self._delimiter
        found = buffer.find(delimiter)
        end = found if found != -1 else max(0, len(buffer) - len(delimiter) + 1)
        if end:
            self._take(end)
        if found == -1:
            return False
        del buffer[: len(delimiter)]
        if self._current is not None:
            self.parts.append(self._current)
            self._current = None
        self._state = _AFTER_DELIMITER
        return True

    def _take(self, end: int) -> None:
        """Move the buffer's first ``end`` bytes into the open part (dropped in the preamble)."""
        current = self._current
        if current is not None:
            if self._max_part_bytes is not None and current.size + end > self._max_part_bytes:
                raise FormTooLarge(self._max_part_bytes, "part")
            with memoryview(self._buffer) as view:
                current.content += view[:end]
        del self._buffer[:end]

    def _after_delimiter(self) -> bool:
        buffer = self._buffer
        if buffer[:2] == b"--":
            self._state = _END
            buffer.clear()
            return False
        line_end = buffer.find(b"\r\n")
        if line_end == -1:
            if len(buffer) > MAX_HEAD_BYTES:
                raise MalformedForm("no line break after a boundary")
            return False
        del buffer[: line_end + 2]  # transport padding after the boundary is ignored, as RFC 2046 says
        self._state = _HEAD
        return True

    def _head(self) -> bool:
        buffer = self._buffer
        if buffer[:2] == b"\r\n":  # a part with no headers at all
            head_end, skip = 0, 2
        else:
            head_end, skip = buffer.find(b"\r\n\r\n"), 4
        if head_end == -1:
            if len(buffer) > MAX_HEAD_BYTES:
                raise MalformedForm(f"a part's headers are longer than {MAX_HEAD_BYTES} bytes")
            return False
        if self._max_parts is not None and len(self.parts) >= self._max_parts:
            raise TooManyParts(self._max_parts)
        self._current = _part_of(bytes(buffer[:head_end]))
        # An empty part's delimiter (its line break first) now starts the buffer: found at 0.
        del buffer[: head_end + skip]
        self._state = _BODY
        return True


def parse_form(
    body: bytes, content_type: str, *, max_part_bytes: int | None = None, max_parts: int | None = None
) -> list[FormPart]:
    """The parts of a whole body (none when ``content_type`` is not a multipart form)."""
    boundary = boundary_of(content_type)
    if boundary is None:
        return []
    parser = FormParser(boundary, max_part_bytes=max_part_bytes, max_parts=max_parts)
    parser.feed(body)
    return parser.finish()


def declared_length(headers: Sequence[tuple[bytes, bytes]]) -> int | None:
    """The ``Content-Length`` a request declares, when it is a plain number."""
    for key, value in headers:
        if key.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def read_form(
    receive: Receive,
    content_type: str,
    *,
    declared: int | None,
    max_body_bytes: int,
    max_part_bytes: int | None = None,
    max_parts: int | None = None,
) -> list[FormPart]:
    """The parts of a body read through an ASGI ``receive``, never more than ``max_body_bytes`` of it.

    ``declared`` (the request's ``Content-Length``) over the limit raises ``FormTooLarge`` before
    a byte is read; so does the body reaching past the limit while it arrives, whatever it
    declared. A body that is not a multipart form is read (within the limit) and has no parts.
    """
    if declared is not None and declared > max_body_bytes:
        raise FormTooLarge(max_body_bytes, "body")
    boundary = boundary_of(content_type)
    parser = (
        FormParser(boundary, max_part_bytes=max_part_bytes, max_parts=max_parts)
        if boundary is not None
        else None
    )
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return []  # the client went away mid-body: a torn request is no form, nothing is kept
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_body_bytes:
            raise FormTooLarge(max_body_bytes, "body")
        if parser is not None:
            parser.feed(chunk)
        if not message.get("more_body", False):
            break
    return parser.finish() if parser is not None else []
