"""Instructions per 100-record ``bulk_create`` call, counted by valgrind: a figure a busy machine cannot move.

``write_path.py`` times the client's CPU per call, and on a shared machine the same code varies
by up to 1.8x between runs, which hides any change under about 10%. This counts the machine
instructions instead (valgrind's callgrind tool), which are the same from run to run within
about 0.5%, so two trees can be compared on any machine, busy or not:

    .venv/bin/python benchmarks/instructions.py                       # this tree
    PYTHONPATH=/old/tree:/old/tree/emulator .venv/bin/python benchmarks/instructions.py

Each scope runs twice under valgrind, with ``--low`` and ``--high`` calls; the difference divided by
the difference in calls is one call's count, start-up, imports and the making of the records
cancelled out. The scopes are ``write_path.py``'s ``end_to_end`` (the whole client against an
in-process fixed answer), ``engine`` (the bulk engine's share alone), and ``pages``
(``pagination.py``'s client-only walk, counted per 200-contact page: ``--low`` and ``--high``
count pages there). An instruction is not a nanosecond: to read a count as time, scale it by a
count and a time measured together on a quiet machine (the notes keep one).
Needs ``valgrind`` (``apt-get install valgrind``); takes a few minutes. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))

# What one valgrind run executes: write_path's scope with a given number of 100-record calls.
_RUN = """
import sys
sys.path.insert(0, {here!r})
import write_path
from bigin_emulator.seed import SeedGenerator
calls = {calls}
# As many records made in either run (making them is no part of a call), the first ones sent.
records = list(SeedGenerator(0).contacts({made} * 100))[: calls * 100]
if {scope!r} == "end_to_end":
    write_path.end_to_end_round(records, False)
else:
    write_path.engine_round(records, calls, None)
"""

# What one valgrind run of the ``pages`` scope executes: ``pagination.py``'s client-only walk (the
# SDK's ``contacts.list()`` over page bodies recorded from the emulator and replayed), ``calls``
# pages of 200 contacts. Both runs seed and record as many pages, so only the walk differs.
_PAGES_RUN = """
import sys
sys.path.insert(0, {here!r})
import anyio
import pagination
from bigin_async import BiginClient
from bigin_emulator import BiginEmulator

async def run():
    emulator = BiginEmulator()
    emulator.seed_data(contacts={made} * pagination.PER_PAGE)
    async with emulator.http_client(token=emulator.issue_token()) as raw:
        pages = await pagination.record_pages(raw)
    replay = pagination.ReplayTransport(pages)
    async with BiginClient(access_token="x", api_domain=pagination.API, transport=replay) as bigin:
        await bigin.contacts.list(per_page=1)  # the schema build and first-call set-up, in both runs
        seen = 0
        async for contact in bigin.contacts.list(max_records={calls} * pagination.PER_PAGE):
            seen += 1
    assert seen == {calls} * pagination.PER_PAGE, seen

anyio.run(run)
"""


def count(scope: str, calls: int, made: int) -> int:
    """The instructions valgrind counts for one run of ``scope``: ``calls`` calls, of ``made``'s records."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same hashing, so the same work, each run
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c"]
        + [(_PAGES_RUN if scope == "pages" else _RUN).format(here=HERE, calls=calls, made=made, scope=scope)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run of {scope} failed ({done.returncode}): {done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--low", type=int, default=5, help="calls in the shorter run")
    parser.add_argument("--high", type=int, default=25, help="calls in the longer run")
    parser.add_argument("--scope", choices=["end_to_end", "engine", "pages"], action="append")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    if not 0 < args.low < args.high:
        raise SystemExit("--low must be at least 1 and less than --high")
    import bigin_async  # the tree PYTHONPATH points at, as write_path.py imports it

    per_call: dict[str, int] = {}
    per_page: dict[str, int] = {}
    for scope in args.scope or ["end_to_end", "engine", "pages"]:
        low, high = count(scope, args.low, args.high), count(scope, args.high, args.high)
        (per_page if scope == "pages" else per_call)[scope] = round((high - low) / (args.high - args.low))
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "sdk": os.path.dirname(bigin_async.__file__),
        "calls": [args.low, args.high],
        "instructions_per_100_record_call": per_call,
        "instructions_per_200_record_page": per_page,
    }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
