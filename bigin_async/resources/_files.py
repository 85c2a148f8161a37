"""The one way resources upload and download files: attachments, record photos, the Files API.

``as_upload`` turns what a user hands over (a path, bytes, a file object, or an :class:`Upload`)
into the part the transport streams, with the endpoint's size limit, so every upload is refused
the same way before anything is sent. ``download`` gives either a file saved to disk (a path, or
a directory where the server's file name is used) or a :class:`FileStream` to read as it arrives.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union, overload

import httpx

from bigin_async._download import Download, SaveIn
from bigin_async._file_stream import FileStream
from bigin_async._multipart import FileSource, Upload
from bigin_async._redact import redact_url
from bigin_async.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = ["MAX_FILE_BYTES", "FileInput", "as_upload", "download", "saved"]

MAX_FILE_BYTES = 20 * 1024 * 1024
"""The most one file may hold: Zoho's Files API takes 20 MB a file; an attachment's cap in Bigin
is unconfirmed and taken as Zoho CRM's 20 MB."""

FileInput = Union[FileSource, Upload]
"""A file to upload: a path, bytes, a binary file object (sync or async), or an :class:`Upload`."""

Target = Union[str, "os.PathLike[str]"]


def as_upload(
    file: FileInput, *, filename: str | None = None, field: str = "file", max_size: int | None = None
) -> Upload:
    """``file`` as the part to stream, refused (:class:`ValidationError`) if it is none of the above.

    An :class:`Upload` keeps its own options (``filename`` given here replaces its name), and
    the stricter of its ``max_size`` and this one applies.
    """
    if isinstance(file, Upload):
        upload = file.with_limit(max_size)
        if filename is not None or field != upload.field:
            upload = Upload(
                upload.source,
                field=field,
                filename=filename if filename is not None else upload.filename,
                content_type=upload.content_type,
                size=upload.size,
                max_size=upload.max_size,
            )
        return upload
    if isinstance(file, str) and not file:
        raise ValidationError("cannot upload '': it names no file; nothing was sent")
    return Upload(file, field=field, filename=filename, max_size=max_size)


def saved(response: httpx.Response) -> Download:
    """The file a download call saved, or :class:`NotFoundError` when the answer had none (204)."""
    download = response.extensions.get("bigin_download")
    if isinstance(download, Download):
        return download
    raise NotFoundError(
        "the server answered with no file to download",
        status_code=response.status_code,
        method=response.request.method,
        url=redact_url(str(response.request.url)),
    )


def _target(to: Target) -> Path | SaveIn:
    try:
        text = os.fspath(to)
    except TypeError:
        raise ValidationError(f"cannot download to {to!r}: not a path; nothing was sent") from None
    if not text:  # Path("") is the working directory: name it (".") to mean it
        raise ValidationError("cannot download to '': it names no file or directory; nothing was sent")
    path = Path(text)
    return SaveIn(path) if path.is_dir() else path


@overload
def download(
    transport: Transport,
    path: str,
    *,
    to: None = None,
    params: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> FileStream: ...


@overload
def download(
    transport: Transport,
    path: str,
    *,
    to: Target,
    params: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> Awaitable[Download]: ...


def download(
    transport: Transport,
    path: str,
    *,
    to: Target | None = None,
    params: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> FileStream | Awaitable[Download]:
    """``GET path`` as a file: saved (``to`` a path, or a directory: the server's file name) or,
    with ``to=None``, a :class:`FileStream` for ``async with ... as stream: async for chunk``.

    Saved files go through ``<name>.part`` and a rename, so a download cut short leaves nothing;
    a cut download to disk is retried whole, a streamed one raises once bytes were handed out.
    An answer with no file (Zoho's 204) raises :class:`NotFoundError`.
    """
    if to is None:
        return transport.open_stream("GET", path, params=params, timeout=timeout)

    async def save() -> Download:  # a bad target raises when awaited, as every call's errors do
        return await transport.send_parsed(
            "GET", path, saved, params=params, download_to=_target(to), timeout=timeout
        )

    return save()
