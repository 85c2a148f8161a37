"""The data centre's file host (``content.zohoapis.*``): Bulk Write uploads, and nothing else.

It answers only ``POST /bigin/v2/upload``; any other method or path is Zoho's 404
``INVALID_URL_PATTERN``, so a client that sends the file host anything but uploads (its token
included) shows up in the counters. An upload needs, in this order:

1. the org's access token (``Authorization: Zoho-oauthtoken ...``, checked as the API checks it);
2. ``feature: bulk-write`` and ``X-CRM-ORG: <the org's zgid>`` (as ``GET /org`` gives it): missing
   is 400 ``REQUIRED_PARAM_MISSING``, a wrong value 400 ``INVALID_DATA``;
3. a ``multipart/form-data`` body whose ``file`` part is the zip: no such part is 400
   ``REQUIRED_PARAM_MISSING``; a body past 25 MB is refused as soon as that is known (from its
   ``Content-Length``, else while it arrives) with 400 ``FILE_SIZE_EXCEEDED`` (the API's uploads
   read their forms with the same parser, ``ops.multipart``);
4. the zip's checks (``ops.bulk_csv.check_upload``): ``INVALID_FILE``, ``FILE_SIZE_EXCEEDED``,
   ``LIMIT_EXCEEDED``.

The file is then kept in the org's ``FileStore`` and the answer is Zoho's ``FILE_UPLOAD_SUCCESS``
with its ``file_id``. With ``JobFaults.drop_upload_answers`` the file is kept and the connection
dropped before the answer.
"""

from __future__ import annotations

from bigin_emulator.ops.bulk_csv import MAX_ZIP_BYTES, check_upload
from bigin_emulator.ops.multipart import (
    FormPart,
    FormTooLarge,
    MalformedForm,
    declared_length,
    parse_form,
    read_form,
)
from bigin_emulator.ops.wire import ApiError, encode_json
from bigin_emulator.server.auth_gate import AuthGate
from bigin_emulator.server.counters import ServerCounters
from bigin_emulator.server.faults import JobFaults
from bigin_emulator.server.middleware import Message, Receive, Scope, Send, drop_connection, send_json
from bigin_emulator.state.jobs import FileStore, StoredFile
from bigin_emulator.state.oauth import TokenAuthority

__all__ = ["UPLOAD_PATH", "FileHost", "file_part"]

UPLOAD_PATH = "/bigin/v2/upload"
FEATURE = "bulk-write"
# The multipart envelope around the zip: its part headers and boundaries, generously.
_ENVELOPE_BYTES = 64 * 1024


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            text: str = value.decode("latin-1").strip()
            return text
    return None


def file_part(body: bytes, content_type: str, field: str = "file") -> bytes | None:
    """The content of the first ``field`` part of a whole ``multipart/form-data`` body, or None."""
    return _content_of(parse_form(body, content_type), field)


def _content_of(parts: list[FormPart], field: str) -> bytes | None:
    found = next((part for part in parts if part.name == field), None)
    return bytes(found.content) if found is not None else None


def _too_large() -> ApiError:
    return ApiError(
        400, "FILE_SIZE_EXCEEDED", f"the file is larger than {MAX_ZIP_BYTES} bytes", {"limit": MAX_ZIP_BYTES}
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    """Answer uvicorn's start-up and shut-down (the file host has nothing to set up)."""
    while True:
        message: Message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class FileHost:
    """The file host's ASGI app for one org (see the module docstring)."""

    def __init__(
        self,
        authority: TokenAuthority,
        files: FileStore,
        zgid: str,
        faults: JobFaults,
        counters: ServerCounters,
        *,
        check_scopes: bool = False,
    ) -> None:
        self._gate = AuthGate(self, authority, check_scopes=check_scopes)
        self.counters = counters
        self.files = files
        self.zgid = zgid
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            stored = await self._upload(scope, receive)
        except ApiError as error:
            await send_json(send, error.status, encode_json(error.body()))
            return
        if self.faults.take("drop_upload_answers"):
            self.counters.fault_injected("drop_upload_answers")
            await drop_connection(send, "drop_upload_answers")
        body = {
            "status": "success",
            "code": "FILE_UPLOAD_SUCCESS",
            "message": "file uploaded.",
            "details": {"file_id": stored.file_id, "created_time": stored.created_time},
        }
        await send_json(send, 200, encode_json(body))

    async def _upload(self, scope: Scope, receive: Receive) -> StoredFile:
        if scope["path"] != UPLOAD_PATH or str(scope["method"]).upper() != "POST":
            raise ApiError(404, "INVALID_URL_PATTERN")
        refusal = self._gate.refusal(scope)
        if refusal is not None:
            raise refusal
        self._check_header(scope, b"feature", "feature", FEATURE)
        self._check_header(scope, b"x-crm-org", "X-CRM-ORG", self.zgid)
        try:
            parts = await read_form(
                receive,
                _header(scope, b"content-type") or "",
                declared=declared_length(scope.get("headers", [])),
                max_body_bytes=MAX_ZIP_BYTES + _ENVELOPE_BYTES,
            )
        except FormTooLarge:
            raise _too_large() from None
        except MalformedForm as error:
            raise ApiError(400, "INVALID_DATA", str(error), {"param": "file"}) from None
        data = _content_of(parts, "file")
        del parts
        if data is None:
            message = "the zip must be sent as the multipart field 'file'"
            raise ApiError(400, "REQUIRED_PARAM_MISSING", message, {"param": "file"})
        checked = check_upload(data)
        return self.files.add(data, checked.name, checked.header, checked.records)

    @staticmethod
    def _check_header(scope: Scope, key: bytes, name: str, expected: str) -> None:
        value = _header(scope, key)
        if not value:
            raise ApiError(400, "REQUIRED_PARAM_MISSING", f"the {name} header is missing", {"header": name})
        if value.lower() != expected.lower():
            raise ApiError(400, "INVALID_DATA", f"the {name} header must be {expected!r}", {"header": name})
