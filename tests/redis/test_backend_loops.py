"""A redis-py asyncio client handed to the coordination under trio is a set-up mistake, said as one.

redis-py's asyncio client cannot run on trio. Read as an outage, ``on_redis_down="local"`` would
quietly run on local limits for good; it is a typed error at the first call instead, nothing sent.
"""

from __future__ import annotations

import pytest
import redis.asyncio
import redis.backoff

from bigin_async import ConfigurationError
from bigin_async.integrations.redis import RedisCoordination
from bigin_emulator import BiginEmulator
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.parametrize("anyio_backend", ["trio"])


async def test_an_asyncio_client_under_trio_is_a_configuration_error_even_in_local_mode(
    emulator: BiginEmulator, redis_server: RedisServer
) -> None:
    own = redis.asyncio.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    coordination = RedisCoordination(own, on_redis_down="local", expected_processes=2)
    async with emulator.client(coordination=coordination) as bigin:
        with pytest.raises(ConfigurationError, match="asyncio only; under trio pass a URL"):
            await bigin.request("GET", "/org")
    assert emulator.counters.requests_total == 0


async def test_cluster_clients_try_an_operation_at_most_twice_at_once(redis_cluster_url: str) -> None:
    from bigin_async.integrations.redis._backend import RedisBackend

    backend = RedisBackend.from_url(redis_cluster_url, cluster=True)
    try:
        await backend.ping()
        client = next(iter(backend._owned.values()))
        # redis-py's default is 10 retries with a backoff of up to a second each: half a minute.
        assert client.retry.get_retries() == RedisBackend.CLUSTER_RETRIES == 1
        assert isinstance(client.retry._backoff, redis.backoff.NoBackoff)
    finally:
        await backend.aclose()
