"""``bigin-emulator`` (also ``python -m bigin_emulator``, ``bigin emulator``): serve an offline Bigin.

For trying the SDK, demos and benchmarks without a Zoho org. Two commands:

``serve`` seeds records (or loads a saved org with ``--state FILE``), prints the URL, the client
credentials and a ready access token, then serves on a loopback port until Ctrl-C (the file host
of Bulk Write uploads on a second port, printed too; webhooks and bulk job callbacks are sent)::

    bigin-emulator serve --port 8787 --seed-records 1000 --latency 0.05 \\
        --max-concurrency 10 --per-minute 100 --daily-credits 5000 --faults drop_after=0.01

``--minute-seconds 5`` shortens the rolling minute of ``--per-minute`` (and of the server's count of
its busiest minute) to 5 s, so a test of pacing across processes sees many windows in seconds.

``--max-file-bytes 200M`` lets attachments, photos and Files API files be larger than Zoho's
20 MB (a benchmark's 100 MB file); ``--max-stored-bytes`` bounds what the org keeps of them.

``--realism zoho`` plays as hard as Zoho (see ``realism``: bare 429s, lagging fuzzy search, scope
checks, hung-up keep-alive connections, a concurrency cap of 10 unless ``--max-concurrency``).

``seed`` writes a generated org (companies, contacts linked to them, deals) to a JSON file, so
that every run of ``serve --state FILE`` starts from the same records, ids and tokens::

    bigin-emulator seed org.json --contacts 500 --companies 50 --seed 7

Without a command, the options are those of ``serve``: ``python -m bigin_emulator --port 8787``
behaves as it did before the commands existed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import anyio

from bigin_emulator.realism import REALISM_PRESETS
from bigin_emulator.server.faults import Fault, FaultPlan, ServerLimits
from bigin_emulator.state.files import FileLimits

if TYPE_CHECKING:
    from bigin_emulator.emulator import BiginEmulator

__all__ = [
    "DEFAULT_SEED_RECORDS",
    "build_emulator",
    "build_parser",
    "faults_from",
    "file_limits_from",
    "limits_from",
    "main",
    "parse_args",
    "run",
    "write_seed",
]

# The contacts ``serve`` seeds and ``seed`` writes unless told otherwise.
DEFAULT_SEED_RECORDS = 1000

_FAULT_NAMES = tuple(fault.value for fault in Fault)
EmulatorFactory = Callable[[argparse.Namespace, ServerLimits, FaultPlan], Any]


def _latency(text: str) -> float | tuple[float, float]:
    """``0.05`` (fixed seconds) or ``0.02,0.2`` (uniform range)."""
    parts = [float(part) for part in text.split(",")]
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise argparse.ArgumentTypeError("latency is SECONDS or LOW,HIGH")


def _fault_rates(text: str) -> dict[str, float]:
    """``error_500=0.01,drop_after=0.02``: names are ``FaultPlan`` fields."""
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected NAME=FRACTION, got {item!r}")
        name = name.strip()
        if name not in _FAULT_NAMES:
            raise argparse.ArgumentTypeError(f"unknown fault {name!r}; choose from {', '.join(_FAULT_NAMES)}")
        rates[name] = float(value)
    return rates


def _seconds(text: str) -> float:
    """A positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError("seconds must be a positive, finite number")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("a count is 0 or more")
    return value


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def _size(text: str) -> int:
    """A positive number of bytes: ``20971520``, ``512K``, ``100M`` or ``1G`` (powers of 1024)."""
    cleaned = text.strip().upper().removesuffix("B")
    unit = cleaned[-1:] if cleaned[-1:] in _SIZE_UNITS else ""
    number = cleaned[: len(cleaned) - len(unit)]
    if not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"expected a size such as 20M or 1048576, got {text!r}")
    return int(number) * _SIZE_UNITS[unit]


def _serve_options(parser: argparse.ArgumentParser, prog: str) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 lets the OS choose)")
    parser.add_argument(
        "--content-port",
        type=int,
        default=0,
        help="port of the file host, Bulk Write uploads (default 0: the OS chooses; it is printed)",
    )
    parser.add_argument(
        "--seed-records",
        type=_count,
        default=DEFAULT_SEED_RECORDS,
        metavar="N",
        help=f"contacts the org starts with (default {DEFAULT_SEED_RECORDS:,}; 0: an empty org)",
    )
    parser.add_argument(
        "--state", type=Path, metavar="FILE", help=f"start from an org saved by `{prog} seed`"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for data, latency and faults (default 0)")
    parser.add_argument("--latency", type=_latency, default=None, help="added latency: SECONDS or LOW,HIGH")
    parser.add_argument("--max-concurrency", type=int, default=None, help="concurrent requests before 429")
    parser.add_argument("--per-minute", type=int, default=None, help="calls per rolling minute before 429")
    parser.add_argument("--daily-credits", type=int, default=None, help="credits per rolling 24 h before 429")
    parser.add_argument(
        "--minute-seconds",
        type=_seconds,
        default=60.0,
        metavar="S",
        help="length of the rolling minute --per-minute counts (default 60; shorter for quick tests)",
    )
    parser.add_argument(
        "--faults",
        type=_fault_rates,
        default={},
        help="fault rates, e.g. error_500=0.01,drop_after=0.01,slow=0.005 (FaultPlan field names)",
    )
    parser.add_argument(
        "--slow-seconds", type=float, default=60.0, help="how long a 'slow' fault holds the answer"
    )
    for flag, default, what in (
        ("--max-file-bytes", FileLimits.max_file_bytes, "largest attachment, photo or Files API file taken"),
        ("--max-stored-bytes", FileLimits.max_stored_bytes, "bytes of files the org keeps, all together"),
    ):
        shown = f"{default // (1024 * 1024)}M"
        parser.add_argument(
            flag, type=_size, default=default, metavar="SIZE", help=f"{what} (default {shown})"
        )
    parser.add_argument(
        "--realism",
        choices=sorted(REALISM_PRESETS),
        default="kind",
        help="kind (default) or zoho: as hard as Zoho is (bare 429s, lagging search, scope checks...)",
    )


def _seed_options(parser: argparse.ArgumentParser, prog: str) -> None:
    parser.add_argument(
        "file", type=Path, help=f"the JSON file to write (`{prog} serve --state FILE` loads it)"
    )
    parser.add_argument(
        "--contacts",
        type=_count,
        default=DEFAULT_SEED_RECORDS,
        metavar="N",
        help=f"contacts (default {DEFAULT_SEED_RECORDS:,})",
    )
    parser.add_argument(
        "--companies",
        type=_count,
        default=0,
        metavar="N",
        help="companies, each contact linked to one (default 0)",
    )
    parser.add_argument(
        "--deals", type=_count, default=0, metavar="N", help="deals in the default pipeline (default 0)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")


def _examples(prog: str) -> str:
    return "\n".join(
        [
            "examples:",
            f"  {prog} --port 8787 --seed-records {DEFAULT_SEED_RECORDS}",
            f"  {prog} seed org.json --contacts 500 --companies 50",
            f"  {prog} serve --state org.json",
        ]
    )


def build_parser(prog: str = "bigin-emulator") -> argparse.ArgumentParser:
    """``serve`` and ``seed``; ``serve``'s options also stand alone (the command line before there
    were commands), so ``--help`` lists them too. ``prog`` is the command as typed (``bigin
    emulator`` from the SDK's ``bigin``): the help names the commands it suggests by it."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="An offline Bigin v2 server.\nWithout a command, the options are those of `serve`.",
        epilog=_examples(prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _serve_options(parser, prog)
    commands = parser.add_subparsers(dest="command", metavar="{serve,seed}")
    _serve_options(
        commands.add_parser(
            "serve",
            help="serve an offline Bigin on a loopback port",
            description="Serve an offline Bigin v2 org on a loopback port until Ctrl-C.",
        ),
        prog,
    )
    _seed_options(
        commands.add_parser(
            "seed",
            help="write a generated org to a JSON file for `serve --state`",
            description="Write a generated org (records, ids, tokens) to a JSON file.",
        ),
        prog,
    )
    return parser


def parse_args(argv: Sequence[str] | None = None, prog: str = "bigin-emulator") -> argparse.Namespace:
    """The parsed command line; no command (bare ``serve`` options, or none) means ``serve``."""
    args = build_parser(prog).parse_args(argv)
    if args.command is None:
        args.command = "serve"
    return args


def limits_from(args: argparse.Namespace) -> ServerLimits:
    return ServerLimits(
        latency=args.latency,
        max_concurrency=args.max_concurrency,
        per_minute=args.per_minute,
        daily_credits=args.daily_credits,
        seed=args.seed,
        minute=args.minute_seconds,
    )


def file_limits_from(args: argparse.Namespace) -> FileLimits:
    return FileLimits(max_file_bytes=args.max_file_bytes, max_stored_bytes=args.max_stored_bytes)


def faults_from(args: argparse.Namespace) -> FaultPlan:
    return FaultPlan(seed=args.seed, slow_seconds=args.slow_seconds, **args.faults)


def build_emulator(args: argparse.Namespace, limits: ServerLimits, faults: FaultPlan) -> BiginEmulator:
    """The emulator ``serve`` runs: seeded with ``--seed-records`` contacts, or ``--state`` loaded."""
    from bigin_emulator.emulator import BiginEmulator

    state = getattr(args, "state", None)
    emulator = BiginEmulator(
        seed=args.seed,
        seed_records=0 if state is not None else args.seed_records,
        limits=limits,
        faults=faults,
        realism=args.realism,
        file_limits=file_limits_from(args),
    )
    if state is not None:
        emulator.import_state(json.loads(Path(state).read_text(encoding="utf-8")))
    return emulator


def write_seed(args: argparse.Namespace) -> dict[str, int]:
    """Generate the org ``seed`` asks for, write its state to ``args.file``; records per module."""
    from bigin_emulator.emulator import BiginEmulator

    emulator = BiginEmulator(seed=args.seed)
    created = emulator.seed_data(contacts=args.contacts, companies=args.companies, deals=args.deals)
    args.file.write_text(json.dumps(emulator.export_state(), ensure_ascii=False), encoding="utf-8")
    return {module: len(ids) for module, ids in created.items()}


def _records_line(args: argparse.Namespace, emulator: Any) -> str:
    state = getattr(args, "state", None)
    if state is None:
        return f"{args.seed_records} contacts"
    store = getattr(emulator, "store", None)
    tables = getattr(store, "tables", {})
    counts = ", ".join(
        f"{len(table.records)} {name}" for name, table in sorted(tables.items()) if table.records
    )
    return f"{counts or 'none'} (from {state})"


def _banner(
    url: str, emulator: Any, args: argparse.Namespace, limits: ServerLimits, faults: FaultPlan
) -> str:
    client_id, client_secret = emulator.client_id, emulator.client_secret
    refresh_token = emulator.refresh_token
    content = getattr(emulator, "content_url", None)
    file_host = [f"  file host      {content}/bigin/v2/upload"] if content else []
    content_option = [f"              content_domain={content!r},"] if content else []
    return "\n".join(
        [
            f"Bigin emulator listening on {url}",
            f"  API base       {url}/bigin/v2",
            *file_host,
            f"  token URL      {url}/oauth/v2/token",
            f"  client_id      {client_id}",
            f"  client_secret  {client_secret}",
            f"  refresh_token  {refresh_token}",
            f"  access_token   {emulator.issue_token()}   (header: Authorization: Zoho-oauthtoken <token>)",
            f"  seeded records {_records_line(args, emulator)}",
            f"  limits         {limits}",
            f"  faults         {faults if faults.total_rate else 'none'}",
            f"  realism        {getattr(args, 'realism', 'kind')}",
            "",
            f"  BiginClient(api_domain={url!r}, accounts_url={url!r},",
            *content_option,
            f"              client_id={client_id!r}, client_secret={client_secret!r},",
            f"              refresh_token={refresh_token!r})",
            "",
            "Press Ctrl-C to stop.",
            "",
        ]
    )


async def run(
    args: argparse.Namespace,
    *,
    build: EmulatorFactory = build_emulator,
    out: TextIO | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Build the emulator, serve it (``BiginEmulator.serve``), say how to reach it, until cancelled."""
    limits, faults = limits_from(args), faults_from(args)
    emulator = build(args, limits, faults)
    async with emulator.serve(host=args.host, port=args.port, content_port=args.content_port) as url:
        out = out if out is not None else sys.stdout  # looked up late, so redirection works
        out.write(_banner(url, emulator, args, limits, faults))
        out.flush()
        if ready is not None:
            ready(url)
        await anyio.sleep_forever()


def main(argv: Sequence[str] | None = None, prog: str = "bigin-emulator") -> int:
    """The ``bigin-emulator`` console script; exit 0, or 2 on a bad option or file."""
    args = parse_args(argv, prog)
    try:
        if args.command == "seed":
            counts = write_seed(args)
            shown = ", ".join(f"{count} {module}" for module, count in counts.items() if count)
            sys.stdout.write(f"wrote {args.file} ({shown or 'no records'}, seed {args.seed})\n")
            return 0
        anyio.run(run, args, backend="asyncio")  # uvicorn needs asyncio
    except KeyboardInterrupt:
        sys.stdout.write("\nstopped\n")
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0
