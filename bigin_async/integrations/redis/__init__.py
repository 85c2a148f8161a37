"""The org's limits and access token shared by every process through Redis (extra ``redis``).

``BiginClient(..., coordination=RedisCoordination("redis://host:6379/0"))`` makes every process
that points at that Redis keep one concurrency gate, one per-minute pace, one count of the day's
credits and one access token between them (``pip install 'bigin-async[redis]'``; redis-py's
asyncio client on asyncio, its synchronous client in threads on trio).
"""

from __future__ import annotations

from bigin_async.integrations.redis.coordination import RedisCoordination
from bigin_async.integrations.redis.limits import RedisLimits
from bigin_async.integrations.redis.tokens import RedisTokenStore

__all__ = ["RedisCoordination", "RedisLimits", "RedisTokenStore"]
