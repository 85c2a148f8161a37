"""The shared limiter and the shared token on a 3-node Redis Cluster: one hash tag, one slot.

Every key of an org's family shares one ``{...}`` hash tag, so each script's keys live in one
cluster slot and the same runs as on one Redis server pass unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.multiprocess.scenarios import (
    assert_one_refresh,
    assert_paced_within_the_cap,
    paced_import,
    stale_token_run,
)
from tests.multiprocess.worker import CoordinationSpec

pytestmark = pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn serves the emulator


async def test_four_processes_sharing_the_cap_through_a_redis_cluster_stay_within_it(
    tmp_path: Path, redis_cluster_url: str
) -> None:
    run = await paced_import(tmp_path, CoordinationSpec(redis_cluster_url, cluster=True))
    assert_paced_within_the_cap(run)


async def test_four_processes_with_a_stale_token_refresh_it_once_through_a_redis_cluster(
    tmp_path: Path, redis_cluster_url: str
) -> None:
    run = await stale_token_run(tmp_path, CoordinationSpec(redis_cluster_url, cluster=True))
    assert_one_refresh(run)
