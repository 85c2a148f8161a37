"""``PhotoClient``: the one photo of a contact, company or product (``bigin.contacts.photo(id)``).

Zoho's endpoints (Zoho CRM v2's, which Bigin v2 shares): ``POST /{module}/{id}/photo`` takes a
multipart ``file`` and answers ``{"code": "SUCCESS", ...}`` at the top level, ``GET`` is the
image (204 when the record has none), ``DELETE`` removes it. Only Contacts, Companies
(``Accounts``) and Products have photos.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable
from typing import TYPE_CHECKING, ClassVar, Union, overload

from bigin_async._download import Download
from bigin_async._file_stream import FileStream
from bigin_async._inputs import check_id
from bigin_async.errors import ValidationError
from bigin_async.models.modules import api_name
from bigin_async.resources import _files
from bigin_async.resources._answers import one_result
from bigin_async.resources._base import APIResource

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = ["MAX_PHOTO_BYTES", "PHOTO_MODULES", "PhotoClient", "RecordPhotos"]

# The modules whose records have a photo.
PHOTO_MODULES = frozenset({"Contacts", "Accounts", "Products"})
# Zoho CRM's limit for a record's photo (10 MB, at most 10 megapixels, PNG, JPEG, GIF or BMP);
# unconfirmed for Bigin. Larger is refused before sending; the format is left to Zoho to judge.
MAX_PHOTO_BYTES = 10 * 1024 * 1024

DownloadTarget = Union[str, "os.PathLike[str]"]


class PhotoClient(APIResource):
    """The photo of one record. Get one from its module client: ``bigin.contacts.photo(id)``.

    An upload replaces the photo there was, so sending it again leaves the same photo: unlike an
    attachment, an upload whose answer was lost is sent again (from a path, bytes, or a file
    object that can seek back; a pipe cannot be read twice and ends with the first failure).
    """

    def __init__(self, transport: Transport, module: str, record_id: str) -> None:
        super().__init__(transport)
        module = api_name(module) if isinstance(module, str) else module
        if module not in PHOTO_MODULES:
            raise ValidationError(
                f"{module!r} records have no photo in Bigin: only {', '.join(sorted(PHOTO_MODULES))} do"
            )
        self.module = module
        self.record_id = check_id(record_id, "record_id")

    def __repr__(self) -> str:
        return f"PhotoClient(module={self.module!r}, record_id={self.record_id!r})"

    @property
    def _path(self) -> str:
        return f"/{self.module}/{self.record_id}/photo"

    async def upload(self, file: _files.FileInput, filename: str | None = None) -> None:
        """Set the record's photo from a path, bytes, a binary file object or an ``Upload``.

        A file over 10 MB (Zoho CRM's limit, unconfirmed for Bigin) raises
        :class:`~bigin_async.FileTooLargeError` before anything is sent; Zoho CRM takes PNG,
        JPEG, GIF and BMP, and refuses other images itself.
        """
        upload = _files.as_upload(file, filename=filename, max_size=MAX_PHOTO_BYTES)
        await self._transport.send_parsed("POST", self._path, one_result, upload=upload, idempotent=True)

    @overload
    def download(self, to: None = None) -> FileStream: ...

    @overload
    def download(self, to: DownloadTarget) -> Awaitable[Download]: ...

    def download(self, to: DownloadTarget | None = None) -> Awaitable[Download] | FileStream:
        """The photo: to a path, into a directory (under Zoho's file name), or streamed
        (``async with photo.download() as stream``). A record without a photo raises
        :class:`~bigin_async.NotFoundError`."""
        return _files.download(self._transport, self._path, to=to)

    async def delete(self) -> None:
        """Remove the record's photo."""
        await self._transport.send_parsed("DELETE", self._path, one_result)


class RecordPhotos:
    """``photo(record_id)`` for the module clients whose records have one (Contacts, Companies,
    Products): mixed into those clients only, so the others do not offer it."""

    module_api_name: ClassVar[str]
    _transport: Transport

    def photo(self, record_id: str) -> PhotoClient:
        """The photo of one record: ``upload``, ``download``, ``delete``."""
        return PhotoClient(self._transport, self.module_api_name, record_id)
