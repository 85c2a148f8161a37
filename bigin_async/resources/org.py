"""Users and the organization: list, read, add, change and delete users; the org's details.

Zoho's user endpoints (``/users``, ``/users/{id}``) carry users under the key ``users`` both
ways: ``{"users": [user]}`` read and sent, ``{"users": [{"code", "details", "message",
"status"}]}`` answered to a write, one user a call (Bigin's add-user page; one of its examples
sends the key ``user_info``). The update and delete answers are Zoho CRM's (v2, which Bigin v2
shares), unconfirmed for Bigin: a write answer under ``data`` is read too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from bigin_async._inputs import check_id
from bigin_async._json import decode_or_none
from bigin_async.bulk.answers import maybe_deleted_earlier
from bigin_async.errors import APIError, NotFoundError, ValidationError, error_from_body, error_from_response
from bigin_async.models import Org, User, WriteResult, parse_page
from bigin_async.pagination import AsyncPaginator, PageRequest, ProgressCallback
from bigin_async.resources._answers import maybe_deleted_result
from bigin_async.resources._base import APIResource, body_of, checked_results, json_object
from bigin_async.resources._user_input import check_new_user, check_user_changes

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


# Zoho's code for deleting a user already deleted: after an attempt whose answer was lost, the
# user that attempt deleted.
_ALREADY_DELETED = "ID_ALREADY_DELETED"


def _refusal(response: httpx.Response) -> APIError:
    """The typed error of a refused user write, from the entry under ``users`` when there is one."""
    body = decode_or_none(response.content)
    entries = body.get("users") if isinstance(body, Mapping) else None
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], Mapping):
        return error_from_response(response)
    return error_from_body(
        response.status_code,
        entries[0],
        method=response.request.method,
        url=str(response.request.url),
        headers=dict(response.headers),
    )


def _write_answer(response: httpx.Response) -> WriteResult | None:
    """The one result of a user write; None for an empty 2xx (a 204)."""
    body = json_object(body_of(response))
    if not body:
        return None
    entries = body.get("users", body.get("data"))
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], Mapping):
        raise ValueError("a user write answers one result under 'users'")
    return WriteResult.model_validate(entries[0])


def _retried_delete(response: httpx.Response, user_id: str) -> WriteResult | None:
    """The success of a delete retried after a lost answer that finds the user gone; else None.

    The lost attempt may have deleted them. Zoho's "already deleted" says so: a success, its code
    kept. Its "the id given seems to be invalid" (``INVALID_DATA`` about this id) is answered alike
    for a user that attempt deleted and for an id that never was one: a success flagged
    ``MAYBE_ALREADY_DELETED``, as a record's, an attachment's or a tag's delete reads it.
    """
    if not response.extensions.get("bigin_ambiguous_attempts"):
        return None
    error = _refusal(response)
    if error.code == _ALREADY_DELETED:
        return WriteResult(
            id=user_id,
            code=_ALREADY_DELETED,
            status="success",
            action="delete",
            message="already deleted, by an earlier attempt whose answer was lost",
        )
    if maybe_deleted_earlier(response, user_id, False, error.code, error.details):
        return maybe_deleted_result(user_id)
    return None


class UsersClient(APIResource):
    """``/users``: the org's users, paged like records (key ``users``), and one user by id.

    Adding a user invites them by email and takes a licence seat; Zoho adds, changes and
    deletes one user a call. Every input is checked before anything is sent.
    """

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

    async def get(self, id: str) -> User:
        """One user by id (``GET /users/{id}``); :class:`NotFoundError` when Bigin has none."""
        user_id = check_id(id, "user id")
        path = f"/users/{user_id}"
        page = await self._get(path, lambda body: parse_page(User, body, "users"))
        if not page.data:
            raise NotFoundError(f"no user {user_id}", status_code=204, method="GET", url=path)
        return page.data[0]

    async def create(self, user: User | Mapping[str, Any]) -> WriteResult:
        """Add a user (``POST /users``): Zoho emails them an invitation. The result's ``id`` is theirs.

        ``user`` is a :class:`User` or a dict of user fields; ``last_name`` and ``email`` are
        required, ``role`` and ``profile`` (ids, ``{"id"}`` dicts or lookups) are sent as ids.
        Refused before sending: a missing or blank last name, an email that is not an address,
        a role or profile that is not an id, an ``id`` or a key Zoho sets itself. Never sent twice:
        a lost answer raises :class:`~bigin_async.AmbiguousWriteError` (look the user up by email
        with ``list()`` before adding them again). A refused user raises its typed error
        (``DUPLICATE_DATA``: :class:`~bigin_async.DuplicateRecordError`; no seat left:
        ``LICENSE_LIMIT_EXCEEDED``).
        """
        body = {"users": [check_new_user(user)]}
        return await self._user_write("POST", "/users", body)

    async def update(self, id: str, changes: User | Mapping[str, Any]) -> WriteResult:
        """Change a user's fields (``PUT /users/{id}``): only the keys given are sent.

        ``changes`` is a dict, or a :class:`User` (one read from Bigin sends the fields assigned
        since); an ``id`` in it must be this user's. The same checks as :meth:`create` apply to
        the fields given (``email``, ``last_name``, ``role``, ``profile``).
        """
        user_id = check_id(id, "user id")
        body = {"users": [check_user_changes(user_id, changes)]}
        return await self._user_write("PUT", f"/users/{user_id}", body, user_id=user_id)

    async def delete(self, id: str) -> WriteResult:
        """Delete a user (``DELETE /users/{id}``); they stay listed under ``DeletedUsers``.

        Zoho refuses the org's primary contact (``INVALID_REQUEST``) and a user already deleted
        (``ID_ALREADY_DELETED``, or ``INVALID_DATA`` "the id given seems to be invalid"), except
        after an attempt whose answer was lost: that attempt may have deleted them, so the retry's
        "already deleted" is a success (its code kept) and its "invalid id" a success flagged
        ``MAYBE_ALREADY_DELETED`` (with ``details["maybe_never_existed"]``: Zoho answers an id
        that never was a user alike).
        """
        user_id = check_id(id, "user id")
        return await self._user_write("DELETE", f"/users/{user_id}", None, user_id=user_id)

    async def _user_write(
        self, method: str, path: str, body: dict[str, Any] | None, *, user_id: str | None = None
    ) -> WriteResult:
        action = {"POST": "insert", "PUT": "update", "DELETE": "delete"}[method]

        def parse(response: httpx.Response) -> WriteResult:
            if response.status_code >= 400:
                gone = _retried_delete(response, user_id) if method == "DELETE" and user_id else None
                if gone is None:
                    raise _refusal(response)
                return gone
            result = _write_answer(response)
            if method == "POST" and (result is None or (result.ok and result.id is None)):
                # Accepted (or not answered) without the new user's id: they may exist under an id
                # nobody was told, so not a plain success. Raised here, the transport reports the
                # add as ambiguous rather than sending it again.
                raise ValueError("an added user's answer names no id")
            if result is None:
                result = WriteResult(id=user_id, code="SUCCESS", status="success")
            if result.id is None:
                result.id = user_id
            result.action = action
            return checked_results([result], response)[0]

        return await self._send_response(method, path, parse, json=body, raise_for_status=False)


class OrgClient(APIResource):
    """``/org``: the organization's details (Bigin answers ``{"org": [one]}``)."""

    async def get(self) -> Org:
        page = await self._get("/org", lambda body: parse_page(Org, body, "org"))
        if not page.data:
            raise NotFoundError("the server returned no org", status_code=204, method="GET", url="/org")
        return page.data[0]
