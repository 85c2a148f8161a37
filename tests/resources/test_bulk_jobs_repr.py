"""A job's repr never shows its callback URL, which often carries the receiver's secret."""

from __future__ import annotations

from typing import Any

import pytest

from bigin_async import BulkReadJob, BulkWriteJob

_CALLBACK = {"url": "https://hooks.example.com/bigin?token=s3cr3t-hook-value", "method": "post"}


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (BulkWriteJob, {"id": "1", "operation": "insert", "status": "ADDED", "callback": _CALLBACK}),
        (BulkReadJob, {"id": "2", "operation": "read", "state": "ADDED", "callback": _CALLBACK}),
    ],
)
def test_a_jobs_repr_and_str_leave_out_its_callback_url(model: Any, body: dict[str, Any]) -> None:
    job = model.model_validate(body)
    assert job.callback == _CALLBACK  # still there for the program that set it
    for text in (repr(job), str(job)):
        assert "s3cr3t-hook-value" not in text
        assert "hooks.example.com" not in text
