"""What every example shares: a client (the built-in emulator, or your org) and a few small helpers.

Without credentials each example runs against ``BiginEmulator``: in-process, no sockets, no Zoho
account, seeded with what that example needs. Export ``BIGIN_REFRESH_TOKEN`` (with
``BIGIN_CLIENT_ID`` and ``BIGIN_CLIENT_SECRET``) or ``BIGIN_ACCESS_TOKEN`` and the very same code
talks to your org through ``BiginClient.from_env()`` (``BIGIN_REGION`` picks the data centre).
Careful: the examples write records (John Doe, TechCorp Inc, ...), so point them at a sandbox org.

Field names. The SDK accepts a few field aliases on write and sends Bigin's names:
``Company_Name`` -> ``Account_Name`` (contacts, companies, deals), ``Job_Title`` -> ``Title``,
``Pipeline`` -> ``Layout`` and ``Expected_Close_Date`` -> ``Closing_Date`` (deals), ``Location`` ->
``Venue`` (events), and ``Related_To`` / ``Parent_Id`` as ``{"module", "id"}`` -> the lookup plus
``$se_module``. Some examples write an alias, others Bigin's own name; a comment says which.

Each example is ``async def main(bigin) -> result`` (what the tests call) plus a ``__main__`` block
that runs it through :func:`run_example` and prints a short summary.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

import anyio

from bigin_async import BiginClient, DuplicateRecordError, Pipeline, WriteResult
from bigin_async.resources.base import ModuleClient
from bigin_emulator import BiginEmulator

__all__ = [
    "REAL_ORG_VARIABLES",
    "JOHN_DOE",
    "Saved",
    "Seeder",
    "create_unless_exists",
    "days_ahead",
    "default_pipeline",
    "ensure_company",
    "ensure_contact",
    "meeting_time",
    "open_client",
    "record_id",
    "run_example",
    "saved_report",
    "stage_or_first",
    "uses_real_org",
]

T = TypeVar("T")
Seeder = Callable[[BiginEmulator], object]

# John Doe, for the examples that need someone to attach a deal, task or note to
# (create_contact.py writes all of his fields).
JOHN_DOE: dict[str, Any] = {
    "First_Name": "John",
    "Last_Name": "Doe",
    "Email": "john.doe@example.com",
    "Phone": "555-0123",
}

# Either variable means "talk to a real org" (BiginClient.from_env reads the rest).
REAL_ORG_VARIABLES = ("BIGIN_REFRESH_TOKEN", "BIGIN_ACCESS_TOKEN")


def uses_real_org(environ: Mapping[str, str] | None = None) -> bool:
    """True when credentials for a real org are set in the environment."""
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in REAL_ORG_VARIABLES)


@asynccontextmanager
async def open_client(seed: Seeder | None = None) -> AsyncIterator[BiginClient]:
    """A client for your org when credentials are set, else for a fresh emulator given to ``seed`` first.

    ``seed`` only ever runs against the emulator: it stands in for data a real org already has.
    """
    if uses_real_org():
        async with BiginClient.from_env() as bigin:
            yield bigin
        return
    emulator = BiginEmulator()
    if seed is not None:
        seed(emulator)
    async with emulator.client() as bigin:
        yield bigin


def run_example(
    main: Callable[[BiginClient], Awaitable[T]],
    report: Callable[[T], str],
    *,
    seed: Seeder | None = None,
) -> T:
    """Run ``main`` on asyncio (trio works too), print ``report(result)``, return the result."""

    async def run() -> T:
        async with open_client(seed) as bigin:
            return await main(bigin)

    result = anyio.run(run)
    print(report(result))
    return result


def record_id(result: WriteResult) -> str:
    """The id a successful write returned (every successful insert, update and upsert has one)."""
    if result.id is None:
        raise RuntimeError(f"the server reported {result.code} without a record id")
    return result.id


@dataclass(frozen=True)
class Saved:
    """A record an example needed: its id, and whether this run created it."""

    id: str
    created: bool


def saved_report(noun: str) -> Callable[[Saved], str]:
    """The ``report`` of an example that creates one record: "Contact created: <id>"."""

    def report(saved: Saved) -> str:
        return f"{noun} created: {saved.id}" if saved.created else f"{noun} already existed: {saved.id}"

    return report


async def create_unless_exists(module: ModuleClient[Any], record: Mapping[str, Any]) -> Saved:
    """Insert ``record``; if a unique field (Email, Account_Name, Product_Name) clashes, use that record.

    ``DuplicateRecordError.existing_id`` names the existing record, so a second run of an example
    against the same org reports it instead of failing.
    """
    try:
        result = await module.create(record)
    except DuplicateRecordError as duplicate:
        if duplicate.existing_id is None:
            raise
        return Saved(duplicate.existing_id, created=False)
    return Saved(record_id(result), created=True)


async def ensure_contact(bigin: BiginClient, contact: Mapping[str, Any]) -> str:
    """The id of the contact with this Email, created if missing (one upsert call, safe to repeat)."""
    return record_id(await bigin.contacts.upsert(contact, duplicate_check_fields=["Email"]))


async def ensure_company(bigin: BiginClient, company: Mapping[str, Any]) -> str:
    """The id of the company with this ``Account_Name``, created if missing (one upsert, safe to repeat)."""
    return record_id(await bigin.companies.upsert(company, duplicate_check_fields=["Account_Name"]))


async def default_pipeline(bigin: BiginClient) -> Pipeline:
    """The org's default team pipeline (or its first), whose id a deal's ``Pipeline`` lookup takes."""
    pipelines = await bigin.pipelines.list()
    if not pipelines:
        raise RuntimeError("this org has no team pipeline")
    return next((p for p in pipelines if p.default), pipelines[0])


def stage_or_first(pipeline: Pipeline, wanted: str) -> str:
    """``wanted`` if the pipeline has that stage, else its first stage (orgs rename stages)."""
    names = [s.display_value or s.actual_value or "" for s in pipeline.stages]
    return next((n for n in names if n.casefold() == wanted.casefold()), names[0])


def days_ahead(days: int) -> date:
    """A date relative to today (fixed dates would be in the past one day)."""
    return date.today() + timedelta(days=days)


def meeting_time(days: int, hour: int, minute: int = 0) -> datetime:
    """An aware UTC datetime; the SDK sends it as ISO 8601 with offset, as Bigin wants."""
    day = days_ahead(days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc)
