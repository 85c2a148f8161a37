"""The token manager against a failing Zoho accounts server: one failure episode per mode.

Each episode: 50 callers need a token while a fake accounts server on a loopback socket fails
(500, ``invalid_code`` in an HTTP 200 body, "Access Denied", no answer, an answer dripped forever,
connection refused); then the server recovers and one more call is made. Prints JSON, per mode:
the refresh requests that reached the endpoint and the connection attempts made, the errors the
50 waiters saw, the next call right after recovery (a fast typed error for "Access Denied" and a
revoked refresh token, whose waits are then moved past on a fake clock), and whether the client
got a token again. Goal: one flight per episode and a recovery every time. About 15 seconds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests.chaos

from tests.helpers.accounts_server import MODES, episode  # noqa: E402


async def main() -> None:
    reports: list[dict[str, Any]] = [await episode("ok")]
    for mode in MODES:
        reports.append(await episode(mode))
    sys.stdout.write(json.dumps({"waiters": 50, "episodes": reports}, indent=2) + "\n")


if __name__ == "__main__":
    anyio.run(main)
