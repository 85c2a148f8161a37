"""``client.files``: Zoho's Files API, where files for file-upload fields are stored first.

A file-upload field on a record is not written with the file itself: the file is uploaded to
Zoho's file store (``POST /files``, multipart parts named ``file``), which answers an encrypted
id per file, and a create or update names those ids in the field (see
:func:`~bigin_async.models.file_upload_value`). ``GET /files?id=`` gives a stored file back.

Bigin's Files page: several files a request, each at most 20 MB, scope
``ZohoBigin.Files.CREATE``, the answer giving each file's name and encrypted id. How many files
one request takes it does not say; Zoho CRM's Files API takes at most 10, so the SDK keeps to 10
and cuts more files into several calls. The answer's shape is Zoho CRM's, ``{"data": [{"code":
"SUCCESS", "details": {"name", "id"}, ...}, ...]}``, one entry per file (unconfirmed for Bigin).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Sequence
from functools import partial
from typing import overload

import httpx

from bigin_async._download import Download
from bigin_async._file_stream import FileStream
from bigin_async._multipart import Upload
from bigin_async.errors import AmbiguousUploadError, AmbiguousWriteError, ValidationError
from bigin_async.models import UploadedFile, parse_write_results
from bigin_async.resources._answers import line_up_by_name
from bigin_async.resources._base import APIResource, body_of, checked_results
from bigin_async.resources._files import MAX_FILE_BYTES, FileInput, as_upload, download

__all__ = ["MAX_FILES_PER_CALL", "AmbiguousUploadError", "FilesClient", "check_file_id"]

MAX_FILES_PER_CALL = 10
"""The most files one ``POST /files`` carries (Zoho CRM's cap; Bigin's page gives none)."""

_MAX_ID_LENGTH = 1000  # an encrypted file id is a few dozen characters; longer is not one

# AmbiguousUploadError lives with the other errors (bigin_async.errors); still importable from here.


def check_file_id(file_id: object) -> str:
    """A Files API id (or an :class:`UploadedFile`'s) as sent in ``?id=``, before anything is sent."""
    if isinstance(file_id, UploadedFile):
        file_id = file_id.file_id
    if isinstance(file_id, str):
        file_id = str.__str__(file_id)
    if (
        not isinstance(file_id, str)
        or not file_id
        or len(file_id) > _MAX_ID_LENGTH
        or not file_id.isprintable()
        or any(c.isspace() for c in file_id)
    ):
        raise ValidationError(f"file_id must be an id from client.files.upload, got {file_id!r:.80}")
    return file_id


def _check_file_objects_once(uploads: Sequence[Upload]) -> None:
    """Refuse one file object given twice: it is read from where it stands, so the second part
    would get what the first left of it (nothing), not the file again."""
    seen: set[int] = set()
    for upload in uploads:
        source = upload.source
        if upload.path is not None or isinstance(source, (bytes, bytearray, memoryview)):
            continue
        if id(source) in seen:
            raise ValidationError(
                f"the same file object ({upload.name}) is given twice; pass its path to upload it twice"
            )
        seen.add(id(source))


def _stored(response: httpx.Response, *, names: Sequence[str]) -> list[UploadedFile]:
    """The stored files of one call's answer, in the order the files were sent.

    Zoho answers one entry per file, naming it; that its entries follow the parts' order is
    unconfirmed, so they are lined up with the files by name (:func:`line_up_by_name`: the names
    that match first, the rest in the answer's order). Any other count of entries is not an
    answer to this call (a malformed answer: the call's fate is unknown).
    """
    results = checked_results(parse_write_results(body_of(response)), response)
    if len(results) != len(names):
        raise ValueError(f"the Files API answered {len(results)} entries for {len(names)} files")
    stored = [UploadedFile.model_validate(result.details) for result in results]
    files = line_up_by_name(stored, names, lambda file: file.name)
    for file, name in zip(files, names, strict=True):
        if file.name is None:
            file.name = name
    return files


class FilesClient(APIResource):
    """``/files``: upload files for file-upload fields, and download stored files by id."""

    async def upload(self, *files: FileInput) -> list[UploadedFile]:
        """Store ``files`` on Zoho's side; one :class:`UploadedFile` each, in the order given.

        Each file is a path, bytes, a binary file object (sync, or async like ``anyio.open_file``'s)
        or an :class:`~bigin_async.Upload` (to set its ``filename`` or ``content_type``), streamed,
        never read whole. Put the ids in a file-upload field with
        :func:`~bigin_async.file_upload_value`. More than 10 files go in several calls of at most
        10 (a call each, one after another).

        Every file is checked before the first call is sent: something that is not a file, a
        path that is not a readable file, a file object that cannot tell its size or is given
        twice, a file over 20 MB (:class:`~bigin_async.errors.FileTooLargeError`). Never sent
        twice: a call whose answer is lost raises :class:`AmbiguousUploadError`, which says which
        files have ids (``uploaded``), which may or may not be stored (``records``) and which were
        not sent (``not_sent``). Any other error of a later call leaves the earlier calls' files stored
        unused (no record names them): upload again those you still need.
        """
        if not files:
            raise ValidationError("files.upload needs at least one file; nothing was sent")
        uploads = [as_upload(file, max_size=MAX_FILE_BYTES) for file in files]
        _check_file_objects_once(uploads)
        for upload in uploads:
            await upload.part()  # size and limit known now: refused before the first call, not the third
        uploaded: list[UploadedFile] = []
        for start in range(0, len(uploads), MAX_FILES_PER_CALL):
            batch = uploads[start : start + MAX_FILES_PER_CALL]
            try:
                uploaded.extend(await self._store(batch))
            except AmbiguousWriteError as error:
                end = start + len(batch)
                before = (
                    f"the first {start} were stored (their ids are in .uploaded)"
                    if start
                    else "none was stored before them (.uploaded is empty)"
                )
                after = (
                    f"the {len(files) - end} after them were not sent (.not_sent)"
                    if end < len(files)
                    else "no file came after them"
                )
                raise AmbiguousUploadError(
                    f"the answer to the Files API call carrying files {start + 1} to {end} of "
                    f"{len(files)} was lost ({error.method} {error.url}); it was not sent again, as "
                    f"its files would be stored twice. Files {start + 1} to {end} may or may not be "
                    "stored (.records): upload them again for ids you know (a stored file no record "
                    f"names is only unused space); {before}; {after}.",
                    uploaded=uploaded,
                    records=files[start:end],
                    not_sent=files[end:],
                    method=error.method,
                    url=error.url,
                ) from error
        return uploaded

    async def _store(self, batch: Sequence[Upload]) -> list[UploadedFile]:
        parse = partial(_stored, names=[upload.name for upload in batch])
        return await self._send_response("POST", "/files", parse, upload=list(batch))

    @overload
    def download(self, file_id: UploadedFile | str, to: None = None) -> FileStream: ...

    @overload
    def download(self, file_id: UploadedFile | str, to: str | os.PathLike[str]) -> Awaitable[Download]: ...

    def download(
        self, file_id: UploadedFile | str, to: str | os.PathLike[str] | None = None
    ) -> FileStream | Awaitable[Download]:
        """A stored file by id (``GET /files?id=``): saved to ``to``, or streamed when ``to`` is None.

        ``to`` a path saves the file there; an existing directory saves it under the server's file
        name (``Download.filename``); either way through a part file renamed at the end, so a
        download cut short leaves nothing. ``to=None`` gives a :class:`~bigin_async.FileStream`:
        ``async with bigin.files.download(id) as stream: async for chunk in stream``. No such file
        (Zoho's 204) raises :class:`~bigin_async.NotFoundError`.
        """
        params = {"id": check_file_id(file_id)}
        if to is None:
            return download(self._transport, "/files", params=params)
        return download(self._transport, "/files", to=to, params=params)
