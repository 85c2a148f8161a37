"""A counting sink: a fake Bigin that answers bulk writes instantly and keeps only counters.

Used where the emulator would be too slow or where a test needs exact control of answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from bigin_async import BiginClient

Entry = Callable[[int, dict[str, Any]], dict[str, Any]]


def success(position: int, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": "SUCCESS",
        "details": {"id": str(7_000_000_000_000_000_000 + position)},
        "message": "record added",
        "status": "success",
    }


class CountingSink:
    def __init__(self, entry: Entry = success) -> None:
        self.entry = entry
        self.calls = 0
        self.records = 0
        self.batch_sizes: list[int] = []
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if request.method == "DELETE":
                ids = request.url.params["ids"].split(",")
                data = [
                    {
                        "code": "SUCCESS",
                        "details": {"id": i},
                        "message": "record deleted",
                        "status": "success",
                    }
                    for i in ids
                ]
                self.batch_sizes.append(len(ids))
            else:
                records = json.loads(request.content)["data"]
                self.batch_sizes.append(len(records))
                base = self.records
                data = [self.entry(base + n, r) for n, r in enumerate(records)]
            self.records += len(data)
            return httpx.Response(201, json={"data": data})
        finally:
            self.in_flight -= 1

    def client(self, **kwargs: Any) -> BiginClient:
        return BiginClient(
            client_id="a", client_secret="b", refresh_token="c", transport=httpx.MockTransport(self), **kwargs
        )
