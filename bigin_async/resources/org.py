"""Users and the organization."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bigin_async.errors import NotFoundError, ValidationError
from bigin_async.models import Org, Page, User, parse_page
from bigin_async.pagination import AsyncPaginator, PageParser, PageRequest, ProgressCallback
from bigin_async.resources.base import send_and_parse

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = ["OrgClient", "UsersClient"]

USER_TYPES = frozenset(
    {
        "AllUsers",
        "ActiveUsers",
        "DeactiveUsers",
        "ConfirmedUsers",
        "NotConfirmedUsers",
        "DeletedUsers",
        "ActiveConfirmedUsers",
        "AdminUsers",
        "ActiveConfirmedAdmins",
        "CurrentUser",
    }
)


class UsersClient:
    """``/users``: the org's users, paged like records (key ``users``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def _fetch(self, path: str, params: Mapping[str, Any], parse: PageParser) -> Page[Any]:
        return await send_and_parse(self._transport, "GET", path, parse, params=params)

    def list(
        self,
        type: str = "AllUsers",
        *,
        per_page: int = 200,
        max_records: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> AsyncPaginator[User]:
        if type not in USER_TYPES:
            raise ValidationError(f"unknown user type {type!r}; one of {', '.join(sorted(USER_TYPES))}")
        request = PageRequest(path="/users", params={"type": type}, key="users", supports_tokens=False)
        return AsyncPaginator(
            self._fetch, request, User, per_page=per_page, max_records=max_records, on_progress=on_progress
        )


class OrgClient:
    """``/org``: the organization's details (Bigin answers ``{"org": [one]}``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def get(self) -> Org:
        page = await send_and_parse(self._transport, "GET", "/org", lambda body: parse_page(Org, body, "org"))
        if not page.data:
            raise NotFoundError("the server returned no org", status_code=204, method="GET", url="/org")
        return page.data[0]
