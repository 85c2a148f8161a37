"""A FastAPI app with the Bigin client as a dependency: one client (one pool, one token) per process.

Serve it with uvicorn, from the repository root or from this folder (``pip install
'bigin-async[fastapi,emulator]' uvicorn``; ``make`` installs all three into ``.venv``)::

    uvicorn examples.fastapi_app:app          # from the repository root
    uvicorn fastapi_app:app                   # from examples/
    python examples/fastapi_app.py            # the same, on http://127.0.0.1:8000

With no ``BIGIN_*`` credentials set it serves an in-process emulator seeded with five contacts.
With ``BIGIN_REFRESH_TOKEN`` (and ``BIGIN_CLIENT_ID``/``BIGIN_CLIENT_SECRET``) or
``BIGIN_ACCESS_TOKEN`` set, the same app talks to your org through ``BiginClient.from_env()``
(``BIGIN_API_DOMAIN`` and ``BIGIN_ACCOUNTS_URL`` point it at a ``bigin-emulator`` server
instead). Then try::

    curl http://127.0.0.1:8000/contacts?limit=3
    curl -X POST http://127.0.0.1:8000/contacts -H 'content-type: application/json' \\
         -d '{"Last_Name": "Doe", "First_Name": "John", "Email": "john.doe@example.com"}'

The client is opened by the lifespan and closed at shutdown; routes receive it through
``BiginDep`` and never construct one. ``add_bigin_exception_handlers`` turns the SDK's errors into
the answers a FastAPI client expects: a bad email is a 422 naming the field, a missing contact a
404, the same email twice a 409 with the existing contact's id. In tests, replace the client with
``app.dependency_overrides[get_bigin] = lambda: test_client``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from bigin_async import BiginClient
from bigin_async.integrations.fastapi import (
    BiginDep,
    BiginFactory,
    add_bigin_exception_handlers,
    bigin_lifespan,
)
from bigin_emulator import BiginEmulator

if TYPE_CHECKING or __package__:  # uvicorn examples.fastapi_app:app (from the repository root)
    from ._common import uses_real_org
else:  # uvicorn fastapi_app:app from examples/, or python examples/fastapi_app.py
    from _common import uses_real_org

LIST_FIELDS = ["First_Name", "Last_Name", "Email", "Phone"]


class NewContact(BaseModel):
    Last_Name: str
    First_Name: str | None = None
    Email: str | None = None
    Phone: str | None = None


def default_client() -> BiginClient:
    """Your org when credentials are set, else an emulator seeded with a few contacts."""
    if uses_real_org():
        return BiginClient.from_env()
    emulator = BiginEmulator()
    emulator.seed_data(contacts=5)
    return emulator.client()


def create_app(factory: BiginFactory = default_client) -> FastAPI:
    app = FastAPI(title="Bigin contacts", lifespan=bigin_lifespan(factory))
    add_bigin_exception_handlers(app)  # NotFoundError -> 404, DuplicateRecordError -> 409, ...

    @app.get("/contacts")
    async def list_contacts(bigin: BiginDep, limit: int = 20) -> list[dict[str, Any]]:
        if not 1 <= limit <= 200:
            raise HTTPException(422, "limit must be 1..200")
        contacts = await bigin.contacts.list(fields=LIST_FIELDS, per_page=limit, max_records=limit).to_list(
            limit=limit
        )
        return [{"id": c.id, **{name: c.get(name) for name in LIST_FIELDS}} for c in contacts]

    @app.get("/contacts/{contact_id}")
    async def read_contact(contact_id: str, bigin: BiginDep) -> dict[str, Any]:
        contact = await bigin.contacts.get(contact_id, fields=LIST_FIELDS)  # a missing id: 404
        return contact.model_dump(mode="json", by_alias=True, exclude_unset=True)  # the fields read

    @app.post("/contacts", status_code=201)
    async def create_contact(contact: NewContact, bigin: BiginDep) -> dict[str, Any]:
        # A bad Email is a 422 with Zoho's details; an Email another contact has, a 409 with its id.
        result = await bigin.contacts.create(contact.model_dump(exclude_none=True))
        return {"id": result.id}

    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
