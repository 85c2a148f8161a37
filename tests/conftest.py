"""Shared test set-up: every async test runs on asyncio and on trio (anyio_mode = "auto").

Helpers live in ``tests/helpers/``; tests import them from there, never from a conftest.
"""

from __future__ import annotations

import pytest

# Real Redis servers for the Redis tests: redis_server, redis_url, fresh_redis_server, redis_cluster ...
pytest_plugins = ["tests.redis_servers"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
