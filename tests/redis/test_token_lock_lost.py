"""A refresh lock lost while a process holds it stops that process's next try: no second refresh.

The holder extends the lock before each try. If it ran out meanwhile (a try slower than
``lock_seconds``) or Redis restarted, another process may have taken it and be refreshing: a try
sent anyway would be a second refresh of the same refresh token, and Zoho blocks it past 10.
"""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import SecretStr

from bigin_async import CoordinationError
from bigin_async.auth import TokenManager
from bigin_async.integrations.redis._backend import RedisBackend, RedisUnavailable
from bigin_async.integrations.redis._keys import KeyFamily
from bigin_async.integrations.redis.tokens import RedisTokenStore

FAMILY = KeyFamily("lost-lock", "default", "accounts")
TOKEN_URL = "https://accounts.zoho.com/oauth/v2/token"


async def test_a_lock_found_gone_before_a_try_raises_and_the_try_is_not_sent(redis_url: str) -> None:
    backend = RedisBackend.from_url(redis_url)
    store = RedisTokenStore(backend, FAMILY, lock_seconds=30.0)

    class LosesItsLock(RedisTokenStore):
        async def update_refreshes(self, key, change):  # type: ignore[no-untyped-def]
            await backend.call("DEL", FAMILY.key("token", key, "lock"))  # it ran out meanwhile
            return await super().update_refreshes(key, change)

    losing = LosesItsLock(backend, FAMILY, lock_seconds=30.0)
    try:
        async with store.lock("k"):
            await store.update_refreshes("k", lambda kept: kept)  # held: extended, no error
        with respx.mock:
            route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={}))
            async with httpx.AsyncClient() as http:
                tokens = TokenManager(
                    token_url=TOKEN_URL,
                    client_id=SecretStr("1000.id"),
                    client_secret=SecretStr("secret"),
                    refresh_token=SecretStr("1000.refresh"),
                    store=losing,
                )
                tokens.http = http
                with pytest.raises(CoordinationError, match="refresh lock in Redis .* was lost"):
                    await tokens.get_token()
        assert route.call_count == 0
    finally:
        await backend.aclose()


async def test_a_lock_set_whose_answer_was_lost_to_a_failure_is_freed(redis_url: str) -> None:
    backend = RedisBackend.from_url(redis_url)

    class AnswerLost(RedisBackend):
        async def call(self, *command):  # type: ignore[no-untyped-def]
            reply = await super().call(*command)
            if command[0] == "SET" and "NX" in command:
                raise RedisUnavailable("the answer was lost")  # Redis took the lock all the same
            return reply

    lossy = AnswerLost.from_url(redis_url)
    store = RedisTokenStore(lossy, FAMILY, lock_seconds=30.0)
    try:
        with pytest.raises(RedisUnavailable):
            async with store.lock("k2"):
                raise AssertionError("not reached")  # pragma: no cover
        assert await backend.call("EXISTS", FAMILY.key("token", "k2", "lock")) == 0
    finally:
        await lossy.aclose()
        await backend.aclose()
