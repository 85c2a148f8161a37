"""Users and the organization."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bigin_async.errors import NotFoundError, ValidationError
from bigin_async.models import Org, User, parse_page
from bigin_async.pagination import AsyncPaginator, PageRequest, ProgressCallback
from bigin_async.resources._base import APIResource

if TYPE_CHECKING:
    pass

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


class UsersClient(APIResource):
    """``/users``: the org's users, paged like records (key ``users``)."""

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
        return self._paginator(
            request, User, per_page=per_page, max_records=max_records, on_progress=on_progress
        )


class OrgClient(APIResource):
    """``/org``: the organization's details (Bigin answers ``{"org": [one]}``)."""

    async def get(self) -> Org:
        page = await self._get("/org", lambda body: parse_page(Org, body, "org"))
        if not page.data:
            raise NotFoundError("the server returned no org", status_code=204, method="GET", url="/org")
        return page.data[0]
