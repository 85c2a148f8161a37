"""``--via``: whether ``bigin import`` / ``bigin export`` go through 100-record calls or Bigin's bulk jobs.

Calls cost 1 credit per 10 records written (1,000,000 contacts: 100,000 credits, the largest org's
whole day) and 1 per 200 records read; a Bulk Write job takes up to 25,000 records for 500 credits
and a Bulk Read job up to 200,000 records for 50. A job, though, waits in Bigin's queue before it
runs, so for a few records calls are faster. ``auto`` (the default) picks jobs above the SDK's
thresholds (:data:`~bigin_async.bulk.jobs.AUTO_JOBS_THRESHOLD_WRITE` records for an import: the
file's row count is known before anything is sent) and calls otherwise, or when the run asks for
something only calls can do:

- ``--no-workflows``: a Bulk Write job takes no ``trigger`` option, so it cannot be told not to
  run the org's workflows;
- ``--batch-size``: a job's parts are 25,000 records, not calls;
- an upsert on more than one ``--unique`` field: a job finds records by one field (``find_by``);
- an import with no known file host for the uploads: a loopback or custom API domain (a
  ``bigin emulator``, a proxy) without ``--content-domain``;
- an export with ``--sort-by``/``--sort-order`` (a Bulk Read job returns records by id), or
  ``--max-records`` at or under the read threshold.

A resumed import keeps the way of the run it resumes, as the SDK's ``auto`` does: a ``--journal``
written by jobs resumes through jobs, one written by calls through calls.

``--via jobs`` with one of those is a usage error naming it; ``--via calls`` is the behaviour the
commands always had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bigin_async._config import Settings, content_domain_for
from bigin_async.bulk.jobs import AUTO_JOBS_THRESHOLD_READ
from bigin_async.bulk.jobs.via import AUTO_JOBS_THRESHOLD_WRITE
from bigin_async.bulk.keys import upsert_key_fields
from bigin_async.cli.common import UsageError

__all__ = ["VIA_CHOICES", "ImportRoute", "Via", "export_via", "file_host_known", "import_route"]

Via = Literal["auto", "calls", "jobs"]
VIA_CHOICES: tuple[Via, ...] = ("auto", "calls", "jobs")
ImportOperation = Literal["insert", "update", "upsert"]
_OPERATIONS: dict[str, ImportOperation] = {"create": "insert", "update": "update", "upsert": "upsert"}


@dataclass(frozen=True)
class ImportRoute:
    """How an import runs: ``via`` calls or jobs, why, and (for jobs) the job's operation and ``find_by``."""

    via: Literal["calls", "jobs"]
    reason: str
    operation: ImportOperation = "insert"
    find_by: str | None = None


def file_host_known(settings: Settings) -> bool:
    """Whether Bulk Write uploads have somewhere to go: ``content_domain`` set, or derivable from
    the API domain (Zoho's ``www.zohoapis.X``, also when the token's answer will name it)."""
    return (
        settings.content_domain is not None
        or not settings.api_domain_overridden
        or content_domain_for(settings.api_domain) is not None
    )


def _calls_only(
    *, workflows: bool, batch_size: int | None, unique: Sequence[str], uploads: bool
) -> str | None:
    """What in the options only calls can do (None: a job can run it)."""
    if not uploads:
        return "an import with no file host for the uploads (pass --content-domain URL)"
    if not workflows:
        return "--no-workflows (a Bulk Write job takes no trigger option)"
    if batch_size is not None:
        return "--batch-size (a job's parts are 25,000 records, not calls)"
    if len(unique) > 1:
        return f"an upsert on {len(unique)} --unique fields (a job finds records by one field)"
    return None


def import_route(
    via: Via,
    *,
    module: str,
    mode: str,
    rows: int,
    unique: Sequence[str] | None,
    workflows: bool = True,
    batch_size: int | None = None,
    resumed: Literal["calls", "jobs"] | None = None,
    uploads: bool = True,
) -> ImportRoute:
    """Decide calls or jobs for importing ``rows`` rows of ``module`` in ``mode`` (create, update, upsert).

    ``unique`` is the upsert's fields as Bigin names them (None: the module's own unique field);
    ``resumed`` the way the run that wrote the journal went (``journal_way``), if any;
    ``uploads`` whether a file host is known (:func:`file_host_known`).
    """
    operation = _OPERATIONS[mode]
    keys = upsert_key_fields(module, unique) if mode == "upsert" else ()
    blocker = _calls_only(workflows=workflows, batch_size=batch_size, unique=keys, uploads=uploads)
    if mode == "upsert" and not keys and blocker is None:
        blocker = f"an upsert with no --unique field ({module} has no unique field the SDK knows)"
    if via == "calls":
        return ImportRoute("calls", "--via calls", operation)
    if blocker is not None:
        if via == "jobs":
            raise UsageError(f"--via jobs cannot run {blocker}: leave it out, or use --via calls")
        if resumed == "jobs":
            raise UsageError(f"the --journal is of an import through jobs, which cannot run {blocker}")
        return ImportRoute("calls", f"auto: {blocker}", operation)
    if via == "auto" and resumed == "calls":
        return ImportRoute("calls", "auto: resuming a journal of calls", operation)
    if via == "auto" and resumed is None and rows <= AUTO_JOBS_THRESHOLD_WRITE:
        return ImportRoute(
            "calls",
            f"auto: {rows:,} row{'' if rows == 1 else 's'} (jobs above {AUTO_JOBS_THRESHOLD_WRITE:,})",
            operation,
        )
    find_by = keys[0] if mode == "upsert" else "id" if mode == "update" else None
    if via == "jobs":
        reason = "--via jobs"
    elif resumed == "jobs":
        reason = "auto: resuming a journal of jobs"
    else:
        reason = f"auto: {rows:,} row{'' if rows == 1 else 's'} (jobs above {AUTO_JOBS_THRESHOLD_WRITE:,})"
    return ImportRoute("jobs", reason, operation, find_by)


def export_via(
    via: Via,
    *,
    fields: int,
    max_fields_per_call: int,
    sorted_: bool,
    max_records: int | None,
) -> Via:
    """``bulk_export``'s ``via`` for an export (``auto`` stays auto when the record count must decide).

    More fields than a call reads (50) can only go through a job; a sort or a small
    ``--max-records`` only through calls. ``--criteria`` goes either way (see
    :mod:`bigin_async.cli.criteria_text`).
    """
    too_many = fields > max_fields_per_call
    if via == "calls":
        return "calls"
    if sorted_:
        if via == "jobs" or too_many:
            raise UsageError(
                "--sort-by/--sort-order need calls (a Bulk Read job returns records by id)"
                + (f", and calls read at most {max_fields_per_call} fields" if too_many else "")
            )
        return "calls"
    if too_many:
        return "jobs"
    if via == "auto" and max_records is not None and max_records <= AUTO_JOBS_THRESHOLD_READ:
        return "calls"
    return via
