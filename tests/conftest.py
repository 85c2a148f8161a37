"""Shared test set-up: every async test runs on asyncio and on trio (anyio_mode = "auto").

Helpers live in ``tests/helpers/``; tests import them from there, never from a conftest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

# Real Redis servers for the Redis tests: redis_server, redis_url, fresh_redis_server, redis_cluster ...
pytest_plugins = ["tests.redis_servers"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _sdk_logger_as_it_was() -> Iterator[None]:
    """The ``bigin_async`` logger as before each test: ``bigin``'s ``main()`` run in-process sets
    its own handler, level and ``propagate=False`` (as a command should), which would hide every
    later test's log records from ``caplog``."""
    logger = logging.getLogger("bigin_async")
    handlers, level = list(logger.handlers), logger.level
    propagate, disabled = logger.propagate, logger.disabled
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)  # through setLevel: it clears the loggers' cached isEnabledFor answers
    logger.propagate, logger.disabled = propagate, disabled
