"""The files an org keeps: record attachments (files and links), record photos, Files API files.

Each stored body (``StoredBody``) is the bytes as uploaded with the name and content type the
client gave; the download routes stream it back in chunks. What the org keeps of all of them
together is bounded by ``FileLimits.max_stored_bytes`` (``UploadStore.make_room`` refuses past
it), so a client uploading without end meets Zoho's ``LIMIT_EXCEEDED`` rather than the machine's
memory. A record's attachments and photo go with the record when it is deleted; Files API files
stay (they belong to no record until a file-upload field names them, and may be named again).

``faults`` (the emulator's ``FileFaults``) can drop an upload's answer after the file was kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "CHUNK_BYTES",
    "MB",
    "StoredAttachment",
    "StoredBody",
    "StoreFull",
    "UploadFaultSource",
    "FileLimits",
    "UploadStore",
]

MB = 1024 * 1024
CHUNK_BYTES = 256 * 1024  # what a download hands the server at a time


@dataclass(frozen=True)
class FileLimits:
    """How large the files the org takes may be, and how much of them it keeps.

    ``max_file_bytes`` bounds each attachment, photo and Files API file (Zoho's 20 MB: the Files
    API's documented limit, and Zoho CRM's for attachments); a larger one is refused with 400
    ``FILE_SIZE_EXCEEDED`` as soon as that is known, its bytes never all held. ``max_stored_bytes``
    bounds what the org keeps of all of them together (past it, 400 ``LIMIT_EXCEEDED``), so a
    long benchmark cannot fill the machine's memory. ``max_files_per_upload`` is the Files API's
    files in one request (Zoho CRM's 10).
    """

    max_file_bytes: int = 20 * MB
    max_stored_bytes: int = 256 * MB
    max_files_per_upload: int = 10

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_stored_bytes", "max_files_per_upload"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"FileLimits.{name} must be a positive int, got {value!r}")


class UploadFaultSource(Protocol):
    """Where upload faults come from: the emulator's ``FileFaults`` (``take`` deals one)."""

    def take(self, fault: str) -> bool: ...


class StoreFull(Exception):
    """Keeping ``needed`` more bytes would pass ``limit`` (``stored`` are kept already)."""

    def __init__(self, needed: int, stored: int, limit: int) -> None:
        super().__init__(f"{needed} more bytes would pass the {limit} bytes kept at most ({stored} kept)")
        self.needed, self.stored, self.limit = needed, stored, limit


@dataclass(frozen=True, eq=False)
class StoredBody:
    """A file's bytes as uploaded (``content`` is never changed once kept)."""

    name: str
    content_type: str
    content: bytes | bytearray = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def data(self) -> bytes:
        """The bytes, as one ``bytes`` (a copy: for tests and small files)."""
        return bytes(self.content)

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The bytes in pieces of ``size``, each copied out only as it is asked for."""
        with memoryview(self.content) as view:
            for start in range(0, len(view), size):
                yield bytes(view[start : start + size])


@dataclass
class StoredAttachment:
    """One attachment of a record: a file (``body``) or a link (``link_url``)."""

    id: str
    module: str
    record_id: str
    created_time: str
    created_by: dict[str, str]
    body: StoredBody | None = None
    link_url: str | None = None
    title: str | None = None
    file_id: str | None = None

    @property
    def file_name(self) -> str:
        if self.body is not None:
            return self.body.name
        return self.title or self.link_url or ""

    @property
    def size(self) -> int:
        return self.body.size if self.body is not None else 0

    def wire(self, parent_name: str | None) -> dict[str, Any]:
        """The attachment as ``GET /{module}/{id}/Attachments`` lists it (Zoho CRM's v2 shape).

        ``Size`` is a string of bytes, as Zoho sends it; a link has ``Size`` null, its URL in
        ``$link_url`` and ``File_Name`` its title (else the URL).
        """
        user = self.created_by
        return {
            "Owner": user,
            "Modified_By": user,
            "Created_By": user,
            "Parent_Id": {"name": parent_name, "id": self.record_id},
            "$file_id": self.file_id,
            "$type": "Attachment" if self.body is not None else "Link URL",
            "$link_url": self.link_url,
            "$se_module": self.module,
            "$editable": True,
            "$sharing_permission": "FULL_ACCESS",
            "$state": "save",
            "File_Name": self.file_name,
            "Size": str(self.size) if self.body is not None else None,
            "Created_Time": self.created_time,
            "Modified_Time": self.created_time,
            "id": self.id,
        }


def _encrypted_id(serial: str) -> str:
    """A Files API id: long and opaque like Zoho's encrypted ones, the same on every run."""
    return hashlib.sha256(f"files-api:{serial}".encode()).hexdigest() + serial


class UploadStore:
    """Every file body the org keeps, and how many bytes they come to (see the module docstring)."""

    def __init__(self, limits: FileLimits, new_id: Callable[[], str], now_iso: Callable[[], str]) -> None:
        self.limits = limits
        self.new_id = new_id
        self.now_iso = now_iso
        self.faults: UploadFaultSource | None = None  # the emulator sets its FileFaults
        self.stored_bytes = 0
        self.attachments: dict[tuple[str, str], dict[str, StoredAttachment]] = {}
        self.photos: dict[tuple[str, str], StoredBody] = {}
        self.files: dict[str, StoredBody] = {}  # Files API files by their (encrypted) id

    # -- the bound ------------------------------------------------------------------------------

    def make_room(self, needed: int, freed: int = 0) -> None:
        """Refuse (``StoreFull``) when keeping ``needed`` more bytes (``freed`` let go) passes the bound."""
        after = self.stored_bytes - freed + needed
        if needed and after > self.limits.max_stored_bytes:
            raise StoreFull(needed, self.stored_bytes, self.limits.max_stored_bytes)

    def _keep(self, size: int) -> None:
        self.stored_bytes += size

    def _free(self, size: int) -> None:
        self.stored_bytes -= size

    # -- attachments ----------------------------------------------------------------------------

    def attachments_of(self, module: str, record_id: str) -> dict[str, StoredAttachment]:
        """The record's attachments by id, oldest first (an empty dict when it has none)."""
        return self.attachments.get((module, record_id), {})

    def attach(
        self,
        module: str,
        record_id: str,
        user: dict[str, str],
        *,
        body: StoredBody | None = None,
        link_url: str | None = None,
        title: str | None = None,
    ) -> StoredAttachment:
        """Keep a file (``body``) or a link as a new attachment of the record."""
        size = body.size if body is not None else 0
        self.make_room(size)
        attachment = StoredAttachment(
            self.new_id(),
            module,
            record_id,
            self.now_iso(),
            user,
            body=body,
            link_url=link_url,
            title=title,
            file_id=_encrypted_id(self.new_id()) if body is not None else None,
        )
        self.attachments.setdefault((module, record_id), {})[attachment.id] = attachment
        self._keep(size)
        return attachment

    def detach(self, module: str, record_id: str, attachment_id: str) -> StoredAttachment | None:
        """Delete one attachment; None when the record has no such attachment."""
        kept = self.attachments.get((module, record_id), {})
        attachment = kept.pop(attachment_id, None)
        if attachment is not None:
            self._free(attachment.size)
        return attachment

    # -- photos ---------------------------------------------------------------------------------

    def set_photo(self, module: str, record_id: str, body: StoredBody) -> None:
        """Keep ``body`` as the record's photo, in place of the one it had."""
        old = self.photos.get((module, record_id))
        freed = old.size if old is not None else 0
        self.make_room(body.size, freed)
        self.photos[(module, record_id)] = body
        self._free(freed)
        self._keep(body.size)

    def remove_photo(self, module: str, record_id: str) -> bool:
        old = self.photos.pop((module, record_id), None)
        if old is not None:
            self._free(old.size)
        return old is not None

    # -- the Files API --------------------------------------------------------------------------

    def add_files(self, bodies: Sequence[StoredBody]) -> list[str]:
        """Keep the files of one upload (all of them, or none past the bound); their ids in order."""
        self.make_room(sum(body.size for body in bodies))
        ids = []
        for body in bodies:
            file_id = _encrypted_id(self.new_id())
            self.files[file_id] = body
            self._keep(body.size)
            ids.append(file_id)
        return ids

    def clear(self) -> None:
        """Forget every file (an org loaded from a saved state has none: files are not saved)."""
        self.attachments.clear()
        self.photos.clear()
        self.files.clear()
        self.stored_bytes = 0

    # -- records going --------------------------------------------------------------------------

    def forget_record(self, module: str, record_id: str) -> None:
        """A deleted record's attachments and photo go with it (and their bytes are let go)."""
        for attachment in self.attachments.pop((module, record_id), {}).values():
            self._free(attachment.size)
        self.remove_photo(module, record_id)
