"""Files on the API host: record attachments, record photos and the Files API, in Zoho's shapes.

- ``GET /{module}/{id}/Attachments``: the record's attachments, newest first, page numbers
  (``page``, ``per_page`` up to 200; ``fields`` picks keys, ``id`` always kept); 204 when none.
- ``POST /{module}/{id}/Attachments``: a multipart ``file`` part (one), or an ``attachmentUrl``
  text part (+ ``title``) for a link; 200 ``attachment uploaded successfully``.
- ``GET /{module}/{id}/Attachments/{attachment_id}``: the file's bytes with its content type and
  ``Content-Disposition`` (``filename*=UTF-8''...`` beside an ASCII ``filename`` when the name is
  not plain ASCII); 204 when the record or attachment is unknown; a link has no bytes (400).
- ``DELETE /{module}/{id}/Attachments/{attachment_id}``: ``{"data": [entry]}``.
- ``GET|POST|DELETE /{Contacts|Accounts|Products}/{id}/photo``: one photo a record (a new one
  replaces it); GET is 204 when there is none; other modules are 400 ``INVALID_MODULE``.
- ``POST /files``: up to ``FileLimits.max_files_per_upload`` ``file`` parts (10), each at most
  ``max_file_bytes``; ``GET /files?id=`` downloads one (204 when unknown).

Every module with attachments has them here (Notes: 400 ``INVALID_DATA``, as an unknown related
list). An upload to an unknown record is 400 ``INVALID_DATA`` (details ``id``,
``resource_path_index`` 1); a file past ``max_file_bytes`` 400 ``FILE_SIZE_EXCEEDED`` as soon as
that is known (``Content-Length``, or the bytes as they arrive); no file part 400
``REQUIRED_PARAM_MISSING``; the org's stored bytes past ``max_stored_bytes`` 400
``LIMIT_EXCEEDED``. ``FileFaults.drop_upload_answers`` keeps an upload and drops the connection
before its answer. The routes must come before the related-list routes, which would otherwise
read ``Attachments`` and ``photo`` as related lists.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bigin_emulator.ops.multipart import (
    MAX_HEAD_BYTES,
    FormPart,
    FormTooLarge,
    MalformedForm,
    TooManyParts,
    declared_length,
    read_form,
)
from bigin_emulator.ops.paging import paginate, parse_page_params
from bigin_emulator.ops.projection import parse_fields
from bigin_emulator.ops.wire import ApiError, record_error
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.http_input import module_spec
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.files import StoredBody, StoreFull
from bigin_emulator.state.metadata import ModuleSpec, display_value
from bigin_emulator.state.org_data import current_user
from bigin_emulator.state.sorting import SortedView
from bigin_emulator.state.store import Record

__all__ = [
    "ATTACHMENT_MODULES",
    "DROPPED_UPLOAD",
    "PHOTO_MODULES",
    "DropAnswer",
    "content_disposition",
    "file_routes",
    "is_file_path",
]

BASE = "/bigin/v2"
ATTACHMENT_MODULES = frozenset({"Contacts", "Accounts", "Pipelines", "Products", "Tasks", "Events", "Calls"})
PHOTO_MODULES = frozenset({"Contacts", "Accounts", "Products"})
DROPPED_UPLOAD = "drop_file_upload_answers"  # how the server's counters name a dropped answer
ENVELOPE_BYTES = MAX_HEAD_BYTES + 512  # a part's framing and headers, at their longest
_ATTACHMENT_PARTS = 8  # file, attachmentUrl, title and a few a client may add
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# Sends the start of an answer and breaks off (the server's ``drop_connection``).
DropAnswer = Callable[[Send, str], Awaitable[NoReturn]]


_FILE_PATH = re.compile(BASE + r"/(?:files|[^/]+/[0-9]+/(?:Attachments(?:/[0-9]+)?|photo))/?")


def is_file_path(path: str) -> bool:
    """Whether ``path`` is one of these routes' (whose bodies are files, never JSON to decode)."""
    return _FILE_PATH.fullmatch(path) is not None


class _DroppedAnswer(Response):
    """An answer never given: the connection is cut once the upload was kept."""

    def __init__(self, drop: DropAnswer) -> None:
        super().__init__()
        self._drop = drop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._drop(send, DROPPED_UPLOAD)


def content_disposition(name: str) -> str:
    """``attachment; filename="..."``, with ``filename*=UTF-8''...`` when the name is not plain ASCII."""
    plain = all(" " <= c <= "~" and c not in '"\\' for c in name)
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name) or "file"
    if plain and name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class _FileResponse(Response):
    """A stored file's bytes, handed to the server a piece at a time (never joined, never copied
    whole), with its content type as uploaded and its name in ``Content-Disposition``."""

    def __init__(self, body: StoredBody) -> None:
        headers = {
            "content-type": body.content_type,
            "content-length": str(body.size),
            "content-disposition": content_disposition(body.name),
        }
        super().__init__(headers=headers)
        self._file = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        for chunk in self._file.chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _invalid_record(record_id: str) -> ApiError:
    return ApiError(
        400, "INVALID_DATA", "the id given seems to be invalid", {"id": record_id, "resource_path_index": 1}
    )


def _too_large(limit: int) -> ApiError:
    return ApiError(400, "FILE_SIZE_EXCEEDED", f"a file is larger than {limit} bytes", {"limit": limit})


def _body_of(part: FormPart) -> StoredBody:
    return StoredBody(part.filename or "file", part.content_type or DEFAULT_CONTENT_TYPE, part.content)


def file_routes(ctx: EmulatorContext, drop_answer: DropAnswer) -> list[Route]:
    """The routes above; ``drop_answer`` cuts a connection when an upload's answer is to be lost."""
    store, uploads = ctx.store, ctx.uploads
    limits = ctx.config.files

    def parent(request: Request, modules: frozenset[str]) -> tuple[ModuleSpec, str, Record | None]:
        spec = module_spec(request.path_params["module"])
        if spec.api_name not in modules:
            if modules is PHOTO_MODULES:
                raise ApiError(
                    400,
                    "INVALID_MODULE",
                    f"{spec.api_name} records have no photo",
                    {"resource_path_index": 0},
                )
            raise ApiError(
                400,
                "INVALID_DATA",
                "the relation name given seems to be invalid",
                {"resource_path_index": 2},
            )
        record_id = request.path_params["record_id"]
        return spec, record_id, store.table(spec.api_name).get(record_id)

    def existing_parent(request: Request, modules: frozenset[str]) -> tuple[ModuleSpec, str, Record]:
        spec, record_id, record = parent(request, modules)
        if record is None:
            raise _invalid_record(record_id)
        return spec, record_id, record

    async def form(request: Request, max_parts: int, max_files: int = 1) -> list[FormPart]:
        """The request's parts; its body at most ``max_files`` files' worth (and their framing)."""
        per_part = limits.max_file_bytes
        try:
            return await read_form(
                request.receive,
                request.headers.get("content-type", ""),
                declared=declared_length(request.scope["headers"]),
                max_body_bytes=max_files * per_part + max_parts * ENVELOPE_BYTES,
                max_part_bytes=per_part,
                max_parts=max_parts,
            )
        except FormTooLarge:
            raise _too_large(per_part) from None
        except TooManyParts as error:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"at most {error.limit} files can be uploaded in one call",
                {"param": "file", "limit": error.limit},
            ) from None
        except MalformedForm as error:
            raise ApiError(400, "INVALID_DATA", str(error), {"param": "body"}) from None

    def kept(keep: Callable[[], Any]) -> Any:
        try:
            return keep()
        except StoreFull as error:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"the org keeps at most {error.limit} bytes of files",
                {"limit": error.limit},
            ) from None

    def answered(body: Any, status: int = 200) -> Response:
        """The upload's answer, or a dropped connection when ``FileFaults`` says so."""
        if uploads.faults is not None and uploads.faults.take("drop_upload_answers"):
            ctx.counters.fault_injected(DROPPED_UPLOAD)
            return _DroppedAnswer(drop_answer)
        return json_response(body, status)

    # -- attachments ----------------------------------------------------------------------------

    async def list_attachments(request: Request) -> Response:
        spec, record_id, record = parent(request, ATTACHMENT_MODULES)
        fields = parse_fields(request.query_params.get("fields"), required=False)
        scope = f"{spec.api_name}/{record_id}/Attachments"
        params = parse_page_params(request.query_params, ctx, scope, allow_token=False, sort_fields=None)
        if record is None:
            return no_content()
        kept_now = uploads.attachments_of(spec.api_name, record_id)
        ids = list(kept_now)
        page = paginate(SortedView(ids, ids), params, ctx, scope, lambda aid: aid, allow_token=False)
        if not page.ids:
            return no_content()
        name = display_value(spec, record)
        data = [_projected(kept_now[aid].wire(name), fields) for aid in page.ids]
        info = {
            "per_page": params.per_page,
            "count": len(data),
            "page": page.number,
            "more_records": page.more,
        }
        return json_response({"data": data, "info": info})

    async def upload_attachment(request: Request) -> Response:
        spec, record_id, _ = existing_parent(request, ATTACHMENT_MODULES)
        parts = await form(request, _ATTACHMENT_PARTS)
        files = [part for part in parts if part.name == "file"]
        link = next((part.text().strip() for part in parts if part.name == "attachmentUrl"), None)
        title = next((part.text().strip() for part in parts if part.name == "title"), None)
        if not files and not link:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "send the file as the multipart field 'file', or a link as 'attachmentUrl'",
                {"param": "file"},
            )
        if files and link:
            raise ApiError(
                400, "INVALID_DATA", "send a file or an attachmentUrl, not both", {"param": "file"}
            )
        if len(files) > 1:
            raise ApiError(
                400, "LIMIT_EXCEEDED", "one file can be attached a call", {"param": "file", "limit": 1}
            )
        user = current_user().lookup()
        if files:
            attachment = kept(lambda: uploads.attach(spec.api_name, record_id, user, body=_body_of(files[0])))
        else:
            url = str(link)
            parts_of = urlsplit(url)
            if parts_of.scheme not in ("http", "https") or not parts_of.netloc:
                raise ApiError(
                    400, "INVALID_DATA", "the attachmentUrl is not a link", {"param": "attachmentUrl"}
                )
            attachment = uploads.attach(spec.api_name, record_id, user, link_url=url, title=title or None)
        short = {"name": user["name"], "id": user["id"]}
        details = {
            "Modified_Time": attachment.created_time,
            "Modified_By": short,
            "Created_Time": attachment.created_time,
            "id": attachment.id,
            "Created_By": short,
        }
        entry = {
            "code": "SUCCESS",
            "details": details,
            "message": "attachment uploaded successfully",
            "status": "success",
        }
        return answered({"data": [entry]})

    async def download_attachment(request: Request) -> Response:
        spec, record_id, record = parent(request, ATTACHMENT_MODULES)
        attachment_id = request.path_params["attachment_id"]
        attachment = uploads.attachments_of(spec.api_name, record_id).get(attachment_id)
        if record is None or attachment is None:
            return no_content()
        if attachment.body is None:
            raise ApiError(
                400, "INVALID_DATA", "a link attachment has no file to download", {"id": attachment_id}
            )
        return _FileResponse(attachment.body)

    async def delete_attachment(request: Request) -> Response:
        spec, record_id, _ = existing_parent(request, ATTACHMENT_MODULES)
        attachment_id = request.path_params["attachment_id"]
        if uploads.detach(spec.api_name, record_id, attachment_id) is None:
            entry = record_error("INVALID_DATA", {"id": attachment_id}, "the id given seems to be invalid")
            return json_response({"data": [entry]}, 400)
        entry = {
            "code": "SUCCESS",
            "details": {"id": attachment_id},
            "message": "record deleted",
            "status": "success",
        }
        return json_response({"data": [entry]})

    # -- photos ---------------------------------------------------------------------------------

    def photo_answer(message: str) -> dict[str, Any]:
        return {"code": "SUCCESS", "details": {}, "message": message, "status": "success"}

    async def upload_photo(request: Request) -> Response:
        spec, record_id, _ = existing_parent(request, PHOTO_MODULES)
        parts = await form(request, _ATTACHMENT_PARTS)
        photo = next((part for part in parts if part.name == "file"), None)
        if photo is None:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "send the photo as the multipart field 'file'",
                {"param": "file"},
            )
        kept(lambda: uploads.set_photo(spec.api_name, record_id, _body_of(photo)))
        return answered(photo_answer("photo uploaded successfully"))

    async def download_photo(request: Request) -> Response:
        spec, record_id, record = parent(request, PHOTO_MODULES)
        photo = uploads.photos.get((spec.api_name, record_id)) if record is not None else None
        return _FileResponse(photo) if photo is not None else no_content()

    async def delete_photo(request: Request) -> Response:
        spec, record_id, _ = existing_parent(request, PHOTO_MODULES)
        uploads.remove_photo(spec.api_name, record_id)
        return json_response(photo_answer("photo deleted"))

    # -- the Files API --------------------------------------------------------------------------

    async def upload_files(request: Request) -> Response:
        parts = await form(request, limits.max_files_per_upload, limits.max_files_per_upload)
        files = [part for part in parts if part.name == "file"]
        if not files:
            raise ApiError(
                400, "REQUIRED_PARAM_MISSING", "send each file as a multipart field 'file'", {"param": "file"}
            )
        bodies = [_body_of(part) for part in files]
        ids = kept(lambda: uploads.add_files(bodies))
        entries = [
            {
                "code": "SUCCESS",
                "details": {"name": body.name, "id": file_id},
                "message": "file uploaded successfully",
                "status": "success",
            }
            for body, file_id in zip(bodies, ids, strict=True)
        ]
        return answered({"data": entries})

    async def download_file(request: Request) -> Response:
        file_id = request.query_params.get("id", "").strip()
        if not file_id:
            raise ApiError(400, "REQUIRED_PARAM_MISSING", "the id of the file is missing", {"param": "id"})
        body = uploads.files.get(file_id)
        return _FileResponse(body) if body is not None else no_content()

    record = BASE + "/{module:module}/{record_id:record_id}"
    attachments = record + "/Attachments"
    return [
        Route(BASE + "/files", upload_files, methods=["POST"]),
        Route(BASE + "/files", download_file, methods=["GET"]),
        Route(attachments, list_attachments, methods=["GET"]),
        Route(attachments, upload_attachment, methods=["POST"]),
        Route(attachments + "/{attachment_id:record_id}", download_attachment, methods=["GET"]),
        Route(attachments + "/{attachment_id:record_id}", delete_attachment, methods=["DELETE"]),
        Route(record + "/photo", download_photo, methods=["GET"]),
        Route(record + "/photo", upload_photo, methods=["POST"]),
        Route(record + "/photo", delete_photo, methods=["DELETE"]),
    ]


def _projected(entry: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """The keys ``fields`` asks for (and ``id``); every key without it."""
    if fields is None:
        return entry
    wanted = {*fields, "id"}
    return {key: value for key, value in entry.items() if key in wanted}
