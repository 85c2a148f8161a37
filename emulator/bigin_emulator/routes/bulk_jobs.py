"""What the Bulk Read and Bulk Write routes share: the create body, its callback, finding a job, its result.

Both kinds of job are created by a JSON object body that may carry ``callback`` (an http(s)
``url`` and the method ``post``), are answered ``ADDED_SUCCESSFULLY``, are looked up by id among
the org's jobs of their kind (404 ``RECORD_NOT_FOUND`` otherwise, a write job's id included on
the read routes) and have a result to download only once ``COMPLETED`` (400 ``INVALID_REQUEST``
before, or when the job ``FAILED``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes.http_input import read_json
from bigin_emulator.state.jobs import COMPLETED, Job, JobKind, JobRegistry

__all__ = ["added_answer", "completed_job", "found_job", "job_callback", "job_request"]

_NAMES: dict[str, str] = {"read": "Bulk Read", "write": "Bulk Write"}


async def job_request(request: Request) -> Mapping[str, Any]:
    """A create call's body: a JSON object, else 400 ``INVALID_DATA``."""
    body = await read_json(request)
    if not isinstance(body, Mapping):
        raise ApiError(400, "INVALID_DATA", "the body must be a JSON object", {"param": "body"})
    return body


def job_callback(raw: Any) -> dict[str, str] | None:
    """A create body's ``callback``: an http(s) ``url`` and the method ``post``, or none."""
    if raw is None:
        return None
    url = raw.get("url") if isinstance(raw, Mapping) else None
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(
            400, "INVALID_DATA", "callback.url must be an http or https URL", {"param": "callback.url"}
        )
    method = raw.get("method", "post")
    if not isinstance(method, str) or method.lower() != "post":
        raise ApiError(400, "INVALID_DATA", "callback.method must be post", {"param": "callback.method"})
    return {"url": str(url), "method": "post"}


def added_answer(details: Mapping[str, Any]) -> dict[str, Any]:
    """The entry saying a job was created (``details`` has its id)."""
    return {
        "status": "success",
        "code": "ADDED_SUCCESSFULLY",
        "message": "Added successfully.",
        "details": dict(details),
    }


def found_job(jobs: JobRegistry, request: Request, kind: JobKind) -> Job:
    """The path's ``job_id`` among the org's jobs of ``kind``, up to date, else 404."""
    job_id = str(request.path_params["job_id"])
    job = jobs.get(job_id, kind=kind)
    if job is None:
        raise ApiError(404, "RECORD_NOT_FOUND", f"no {_NAMES[kind]} job has that id", {"id": job_id})
    return job


def completed_job(jobs: JobRegistry, request: Request, kind: JobKind) -> Job:
    """``found_job``, refused with 400 unless it is ``COMPLETED`` (only then is there a result)."""
    job = found_job(jobs, request, kind)
    if job.state != COMPLETED:
        raise ApiError(
            400,
            "INVALID_REQUEST",
            f"the job is {job.state}: only a COMPLETED job has a result to download",
            {"id": job.id, "state": job.state},
        )
    return job
