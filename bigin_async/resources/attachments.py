"""``AttachmentsClient``: the files and links attached to one record (``bigin.deals.attachments(id)``).

Zoho's endpoints (Zoho CRM v2's, which Bigin v2 shares): ``GET /{module}/{id}/Attachments``
lists them (page numbers, ``fields`` named), ``POST`` the same path takes a multipart ``file``
or an ``attachmentUrl`` (with a ``title``), ``GET .../Attachments/{attachment_id}`` is the file's
body (its name in ``Content-Disposition``) and ``DELETE`` removes it. Files go up and down
streamed through :mod:`bigin_async.resources._files`, never whole in memory. Every module with
attachments has them (Contacts, Companies, Deals, Products, Tasks, Events, Calls and custom
modules); Notes have none in Bigin.
"""

from __future__ import annotations

import builtins
import os
import unicodedata
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, Union, overload
from urllib.parse import urlsplit

import httpx

from bigin_async._download import Download
from bigin_async._file_stream import FileStream
from bigin_async._inputs import check_field_list, check_id, check_module_name
from bigin_async._multipart import FormField
from bigin_async.errors import ValidationError
from bigin_async.models import WriteResult
from bigin_async.models.attachments import FILE_TYPE, LINK_TYPE, Attachment
from bigin_async.models.modules import api_name
from bigin_async.pagination import AsyncPaginator, PageRequest
from bigin_async.resources import _files
from bigin_async.resources._answers import delete_result, one_result
from bigin_async.resources._base import APIResource

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = [
    "ATTACHMENT_FIELDS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_LINK_LENGTH",
    "MAX_TITLE_LENGTH",
    "NO_ATTACHMENTS",
    "AttachmentsClient",
    "check_link_url",
]

# Modules whose records take no attachments in Bigin.
NO_ATTACHMENTS = frozenset({"Notes"})
# Zoho CRM's limit for one attachment (unconfirmed for Bigin; its Files API's is the same).
MAX_ATTACHMENT_BYTES = _files.MAX_FILE_BYTES
# What a list asks when no fields are named: every key the model knows. Zoho drops requested
# fields it does not have, and newer API versions refuse a list that names none.
ATTACHMENT_FIELDS: tuple[str, ...] = (
    "id",
    "File_Name",
    "Size",
    "Created_Time",
    "Modified_Time",
    "Created_By",
    "Modified_By",
    "Owner",
    "Parent_Id",
    "$type",
    "$link_url",
    "$file_id",
    "$se_module",
)
# Bounds of a link (no documented limit: these keep a URL a browser takes, and a title a line).
MAX_LINK_LENGTH = 2048
MAX_TITLE_LENGTH = 255

DownloadTarget = Union[str, "os.PathLike[str]"]


# Control characters and line breaks; in a URL also format characters (a right-to-left override
# makes a link read as another), which a title may hold (emoji sequences join with them).
_BREAKS = frozenset({"Cc", "Zl", "Zp"})
_URL_HIDDEN = _BREAKS | {"Cf"}


def _has(text: str, categories: frozenset[str]) -> bool:
    return any(unicodedata.category(c) in categories for c in text)


def check_link_url(url: object) -> str:
    """A link to attach: an absolute ``http(s)`` URL of one line and sane length, else
    :class:`ValidationError` before anything is sent (a ``javascript:`` or ``file:`` link would
    sit on the record for every user to click)."""
    if not isinstance(url, str):
        raise ValidationError(f"a link to attach must be a URL string, got {type(url).__name__}")
    url = str.__str__(url)
    if not url or len(url) > MAX_LINK_LENGTH:
        raise ValidationError(f"a link to attach must have 1 to {MAX_LINK_LENGTH} characters, got {len(url)}")
    if _has(url, _URL_HIDDEN) or any(c.isspace() for c in url):
        raise ValidationError(
            f"a link to attach must be one URL without spaces or control characters: {url!r:.100}"
        )
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # a port that is no number raises here
    except ValueError as error:  # an unclosed "[" in the host, a port that is no number
        raise ValidationError(f"{url!r:.100} is not a URL: {error}") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValidationError(
            f"a link to attach must be an http:// or https:// URL with a host, got {url!r:.100}"
        )
    return url


def _checked_title(title: object) -> str | None:
    if title is None:
        return None
    if not isinstance(title, str) or not title.strip():
        raise ValidationError(f"a link's title must be non-empty text, got {title!r:.100}")
    if len(title) > MAX_TITLE_LENGTH or _has(title, _BREAKS):
        raise ValidationError(
            f"a link's title must be one line of at most {MAX_TITLE_LENGTH} characters, got {title!r:.100}"
        )
    return str.__str__(title)


def _field_names(fields: str | Sequence[str] | None) -> builtins.list[str]:
    if fields is None:
        return builtins.list(ATTACHMENT_FIELDS)
    return check_field_list(fields, "attachment field")


def _attached(response: httpx.Response) -> WriteResult:
    """The result of an upload or a link: one success naming the new attachment's id.

    A success without an id is no answer one can use (the attachment may exist, under an id
    nobody knows): raised inside the retry loop, so the call reports it ambiguous.
    """
    result = one_result(response)
    if result.id is None:
        raise ValueError("the answer accepts the attachment but names no id")
    return result


class AttachmentsClient(APIResource):
    """The attachments of one record. Get one from a module client: ``bigin.deals.attachments(id)``.

    ``upload`` and ``attach_link`` are not retried once sent (like an insert: a second send could
    attach twice): an answer lost after sending raises :class:`~bigin_async.AmbiguousWriteError`.
    """

    def __init__(self, transport: Transport, module: str, record_id: str) -> None:
        super().__init__(transport)
        module = check_module_name(api_name(module) if isinstance(module, str) else module)
        if module in NO_ATTACHMENTS:
            raise ValidationError(f"{module} records take no attachments in Bigin")
        self.module = module
        self.record_id = check_id(record_id, "record_id")

    def __repr__(self) -> str:
        return f"AttachmentsClient(module={self.module!r}, record_id={self.record_id!r})"

    @property
    def _path(self) -> str:
        return f"/{self.module}/{self.record_id}/Attachments"

    def _attachment_path(self, attachment_id: str) -> str:
        return f"{self._path}/{attachment_id}"

    def list(
        self,
        *,
        fields: str | Sequence[str] | None = None,
        per_page: int = 200,
        max_records: int | None = None,
    ) -> AsyncPaginator[Attachment]:
        """The record's attachments, page after page (``async for a in ...``).

        ``fields`` None asks every field :class:`Attachment` knows. A record without any answers
        an empty list. Pages go by number; past the 2,000th attachment only a page token Zoho
        sends goes further, and without one the walk raises :class:`~bigin_async.PaginationLimitError` rather
        than end silently (whether Zoho pages attachments past 2,000 is unconfirmed).
        """
        request = PageRequest(path=self._path, params={"fields": ",".join(_field_names(fields))})
        return self._paginator(
            request, Attachment, per_page=per_page, max_records=max_records, on_progress=None
        )

    async def upload(self, file: _files.FileInput, filename: str | None = None) -> Attachment:
        """Attach a file: a path, bytes, a binary file object (sync or async) or an ``Upload``.

        Streamed, never read whole; ``filename`` (default: the file's own name) is what Zoho
        shows. A file over 20 MB (Zoho CRM's limit, unconfirmed for Bigin) raises
        :class:`~bigin_async.FileTooLargeError` before anything is sent. The attachment returned
        holds what Zoho's answer confirms (id, times, users) and the name sent; its ``Size`` is
        not in the answer (``list()`` has it).
        """
        upload = _files.as_upload(file, filename=filename, max_size=MAX_ATTACHMENT_BYTES)
        result = await self._transport.send_parsed("POST", self._path, _attached, upload=upload)
        return self._attachment(result, {"File_Name": upload.name, "$type": FILE_TYPE})

    async def attach_link(self, url: str, title: str | None = None) -> Attachment:
        """Attach a link (Zoho's ``attachmentUrl``): an ``http://`` or ``https://`` URL.

        ``title`` is what Zoho shows for it (Zoho CRM's ``title`` part, unconfirmed for Bigin);
        without one the link is named by its URL. The URL is checked before sending: one line, at
        most 2,048 characters, with a host.
        """
        parts = [FormField("attachmentUrl", check_link_url(url))]
        shown = _checked_title(title)
        if shown is not None:
            parts.append(FormField("title", shown))
        result = await self._transport.send_parsed("POST", self._path, _attached, upload=parts)
        link = parts[0].value
        # Zoho CRM names a link by its title, else by the URL itself (unconfirmed for Bigin).
        sent = {"$type": LINK_TYPE, "$link_url": link, "File_Name": shown if shown is not None else link}
        return self._attachment(result, sent)

    def _attachment(self, result: WriteResult, sent: dict[str, Any]) -> Attachment:
        """The attachment an upload's answer describes (its ``details``) and what was sent."""
        fields = {**result.details, **sent, "id": result.id, "$se_module": self.module}
        fields.setdefault("Parent_Id", {"id": self.record_id, "module": self.module})
        return Attachment.model_validate(fields)

    @overload
    def download(self, attachment_id: str, to: None = None) -> FileStream: ...

    @overload
    def download(self, attachment_id: str, to: DownloadTarget) -> Awaitable[Download]: ...

    def download(
        self, attachment_id: str, to: DownloadTarget | None = None
    ) -> Awaitable[Download] | FileStream:
        """An attached file's body: to a path, into a directory (under Zoho's file name), or streamed.

        ``await atts.download(aid, to="contract.pdf")`` or ``to="out/"`` gives a
        :class:`~bigin_async.Download` (the file written whole, then renamed into place);
        ``async with atts.download(aid) as stream:`` gives a :class:`~bigin_async.FileStream`
        (``stream.filename``, then ``async for chunk in stream``). A link has no body to download.
        """
        path = self._attachment_path(check_id(attachment_id, "attachment_id"))
        return _files.download(self._transport, path, to=to)

    async def delete(self, attachment_id: str) -> WriteResult:
        """Remove one attachment. Retried after a lost answer; then an attachment found gone is a
        success with code ``MAYBE_ALREADY_DELETED`` (that attempt may have removed it)."""
        target = check_id(attachment_id, "attachment_id")

        def parse(response: httpx.Response) -> WriteResult:
            return delete_result(response, target)

        return await self._transport.send_parsed(
            "DELETE", self._attachment_path(target), parse, raise_for_status=False
        )
