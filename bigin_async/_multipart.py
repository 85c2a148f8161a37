"""Multipart/form-data bodies streamed from a file, so a Bulk Write upload never sits whole in memory.

Zoho's file host takes the zip as the multipart field ``file``. The body is the part's header,
the file read in chunks, and the closing boundary; its length is known before sending (the
file's size plus the two framing pieces), so the request carries a ``Content-Length`` rather than
a chunked body. Each attempt opens the file again and reads it from the start.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread
import httpx

from bigin_async.errors import ValidationError

__all__ = ["CHUNK_SIZE", "FileChunks", "MultipartBody", "Upload", "upload_file"]

CHUNK_SIZE = 64 * 1024  # bytes read from the file at a time


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


@dataclass(frozen=True)
class Upload:
    """A file to send as one multipart/form-data field (exported as ``bigin_async.Upload``).

    ``Transport.send(..., upload=Upload("contacts.zip"))`` streams it: the file is read in chunks
    of 64 KiB, never whole, and read again from the start if the call is retried. ``filename``
    defaults to the file's own name; ``content_type`` to a zip (what Bulk Write takes).
    """

    path: str | os.PathLike[str]
    _: KW_ONLY
    field: str = "file"
    filename: str | None = None
    content_type: str = "application/zip"

    def __post_init__(self) -> None:
        if not isinstance(self.path, (str, os.PathLike)):
            raise ValidationError(f"the upload's path must be a path, got {self.path!r}")
        if self.filename is not None and not isinstance(self.filename, str):
            raise ValidationError(f"the upload's filename must be a string, got {self.filename!r}")
        if not isinstance(self.field, str) or not self.field or any(c in self.field for c in '"\r\n'):
            raise ValidationError(f"the multipart field must be a plain, non-empty name, got {self.field!r}")
        if not isinstance(self.content_type, str) or any(c in self.content_type for c in "\r\n"):
            raise ValidationError(f"the upload's content_type must be one line, got {self.content_type!r}")

    def prepare(self) -> MultipartBody:
        """The body for the file as it is now; refuses a path that is not a readable file."""
        path, size = upload_file(self.path)
        boundary = secrets.token_hex(16)
        name = self.filename if self.filename is not None else path.name
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{self.field}"; filename="{_quoted(name)}"\r\n'
            f"Content-Type: {self.content_type}\r\n\r\n"
        ).encode()
        return MultipartBody(path, size, boundary, head, f"\r\n--{boundary}--\r\n".encode())


@dataclass(frozen=True)
class MultipartBody:
    """One prepared upload: its headers and, for each attempt, its bytes in chunks."""

    path: Path
    size: int  # the file's size when the call began: a file that changes meanwhile is refused
    boundary: str
    head: bytes
    tail: bytes

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(len(self.head) + self.size + len(self.tail)),
        }

    @contextmanager
    def open(self) -> Iterator[FileChunks]:
        """The body's chunks for one attempt, from the file opened now and closed on leaving."""
        try:
            file = self.path.open("rb")
        except OSError as exc:
            raise ValidationError(f"cannot upload {self.path}: {exc.strerror or exc}; not sent") from exc
        try:
            yield FileChunks(self, file)
        finally:
            file.close()

    def _changed(self) -> ValidationError:
        # The Content-Length promised the size the file had: the server gets an incomplete body
        # and cannot accept it, so nothing was applied.
        return ValidationError(
            f"{self.path} changed size while it was being uploaded (it had {self.size} bytes); "
            "the upload was abandoned and nothing was applied"
        )


class FileChunks(httpx.AsyncByteStream):
    """The body of one attempt: the part's header, the file in chunks, the closing boundary.

    A request stream in its own right (``request.stream``) and a plain iterator, not an async
    generator: when the connection fails half way and the sending stops, no generator is left
    suspended for the garbage collector to finalize.
    """

    def __init__(self, body: MultipartBody, file: BinaryIO) -> None:
        self._body = body
        self._file = file
        self._left = body.size
        self._stage = 0  # 0: the header next, 1: the file, 2: the closing boundary, 3: done

    def __aiter__(self) -> FileChunks:
        return self

    async def __anext__(self) -> bytes:
        body = self._body
        if self._stage == 0:
            self._stage = 1
            return body.head
        if self._stage == 1:
            if self._left > 0:
                chunk: bytes = await anyio.to_thread.run_sync(self._file.read, min(CHUNK_SIZE, self._left))
                if not chunk:
                    raise body._changed()
                self._left -= len(chunk)
                return chunk
            if await anyio.to_thread.run_sync(self._file.read, 1):
                raise body._changed()
            self._stage = 2
        if self._stage == 2:
            self._stage = 3
            return body.tail
        raise StopAsyncIteration
