"""Issue 15, item 8: one logger hierarchy, structured fields on every record, secrets redacted,
quiet at INFO in normal operation."""

from __future__ import annotations

import logging
import pkgutil

import httpx
import pytest

import bigin_async
from bigin_async import BiginClient
from bigin_async._redact import RedactingFilter, get_logger
from tests.helpers.transport import SECRETS, token_body

ACCESS = "1000.access-SECRET-logs"
ID = "4150868000000624001"


def test_each_part_logs_on_its_own_child_of_bigin_async_and_each_child_redacts() -> None:
    # every library module imported: each names its logger as it loads
    for info in pkgutil.walk_packages(bigin_async.__path__, prefix="bigin_async."):
        if not info.name.endswith("__main__"):
            try:
                __import__(info.name)
            except ModuleNotFoundError:  # an extra not installed
                continue
    children = {
        name: logger
        for name, logger in logging.Logger.manager.loggerDict.items()
        if name.startswith("bigin_async.") and isinstance(logger, logging.Logger)
    }
    assert {"bigin_async.transport", "bigin_async.auth", "bigin_async.bulk", "bigin_async.hooks"} <= set(
        children
    )
    unfiltered = [
        name
        for name, logger in children.items()
        if not any(isinstance(f, RedactingFilter) for f in logger.filters)
    ]
    assert unfiltered == []


def test_a_childs_record_is_redacted_and_carries_bigin_event(caplog: pytest.LogCaptureFixture) -> None:
    logger = get_logger("transport")
    with caplog.at_level(logging.DEBUG, logger="bigin_async"):
        logger.warning(
            "sent Zoho-oauthtoken %s", ACCESS, extra={"bigin_url": f"https://x/?access_token={ACCESS}"}
        )
        logger.warning("plain")
    first, second = caplog.records
    assert ACCESS not in first.getMessage() and ACCESS not in first.bigin_url  # type: ignore[attr-defined]
    assert first.bigin_event == "message" == second.bigin_event  # type: ignore[attr-defined]


async def test_a_retry_is_one_warning_with_structured_fields(caplog: pytest.LogCaptureFixture) -> None:
    answers = [
        httpx.Response(503, json={"code": "INTERNAL_ERROR"}),
        httpx.Response(200, json={"data": [{"id": ID}]}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    with caplog.at_level(logging.DEBUG, logger="bigin_async"):
        async with BiginClient(
            access_token=ACCESS, transport=httpx.MockTransport(handler), retry_backoff_seconds=0.0
        ) as bigin:
            await bigin.contacts.get(ID)
    (retry,) = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert retry.name == "bigin_async.transport" and retry.levelno == logging.WARNING
    fields = {key: value for key, value in vars(retry).items() if key.startswith("bigin_")}
    assert fields == {
        "bigin_event": "retry_scheduled",
        "bigin_method": "GET",
        "bigin_url": f"https://www.zohoapis.com/bigin/v2/Contacts/{ID}",
        "bigin_url_template": "/bigin/v2/Contacts/{id}",
        "bigin_reason": "HTTP 503",
        "bigin_attempt": 2,
        "bigin_wait": 0.0,
    }


async def test_normal_operation_is_quiet_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """Token refreshes, pages, writes and deletes that succeed log nothing at INFO or above."""
    page = {"data": [{"id": str(i), "Last_Name": "x"} for i in range(200)], "info": {"more_records": False}}
    written = {
        "data": [{"code": "SUCCESS", "status": "success", "details": {"id": str(i)}} for i in range(100)]
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json=token_body(ACCESS, expires_in=1))  # refreshed at every call
        if request.method == "GET":
            return httpx.Response(200, json=page)
        return httpx.Response(200, json=written)

    with caplog.at_level(logging.DEBUG, logger="bigin_async"):
        async with BiginClient(**SECRETS, transport=httpx.MockTransport(handler)) as bigin:
            assert len([r async for r in bigin.contacts.list()]) == 200
            await bigin.contacts.bulk_create([{"Last_Name": str(i)} for i in range(100)])
            stats = bigin.stats()
    assert stats.refreshes >= 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
    refreshed = [r for r in caplog.records if getattr(r, "bigin_event", None) == "token_refreshed"]
    assert refreshed and all(r.name == "bigin_async.auth" and r.levelno == logging.DEBUG for r in refreshed)
    assert ACCESS not in caplog.text and SECRETS["client_secret"] not in caplog.text
