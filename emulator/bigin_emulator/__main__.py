"""``python -m bigin_emulator``: an offline Bigin v2 server on a loopback port.

For trying the SDK, demos and benchmarks without a Zoho org: seeds records, prints the URL, the
client credentials and a ready access token, then serves until Ctrl-C.

    python -m bigin_emulator --port 8787 --seed-records 1000 --latency 0.05 \\
        --max-concurrency 10 --per-minute 100 --daily-credits 5000 --faults drop_after=0.01

``--realism zoho`` plays as hard as Zoho (see ``realism``: bare 429s, lagging fuzzy search, scope
checks, hung-up keep-alive connections, a concurrency cap of 10 unless ``--max-concurrency``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

import anyio

from bigin_emulator.realism import REALISM_PRESETS, Realism
from bigin_emulator.server.faults import Fault, FaultPlan, ServerLimits
from bigin_emulator.server.serving import serve

__all__ = ["build_parser", "faults_from", "limits_from", "main", "run"]

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bigin_emulator", description="An offline Bigin v2 server on a loopback port."
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 lets the OS choose)")
    parser.add_argument("--seed-records", type=int, default=1000, help="contacts etc. to create at start")
    parser.add_argument("--seed", type=int, default=0, help="seed for data, latency and faults (default 0)")
    parser.add_argument("--latency", type=_latency, default=None, help="added latency: SECONDS or LOW,HIGH")
    parser.add_argument("--max-concurrency", type=int, default=None, help="concurrent requests before 429")
    parser.add_argument("--per-minute", type=int, default=None, help="calls per rolling minute before 429")
    parser.add_argument("--daily-credits", type=int, default=None, help="credits per rolling 24 h before 429")
    parser.add_argument(
        "--faults",
        type=_fault_rates,
        default={},
        help="fault rates, e.g. error_500=0.01,drop_after=0.01,slow=0.005 (FaultPlan field names)",
    )
    parser.add_argument(
        "--slow-seconds", type=float, default=60.0, help="how long a 'slow' fault holds the answer"
    )
    parser.add_argument(
        "--realism",
        choices=sorted(REALISM_PRESETS),
        default="kind",
        help="kind (default) or zoho: as hard as Zoho is (bare 429s, lagging search, scope checks...)",
    )
    return parser


def limits_from(args: argparse.Namespace) -> ServerLimits:
    return ServerLimits(
        latency=args.latency,
        max_concurrency=args.max_concurrency,
        per_minute=args.per_minute,
        daily_credits=args.daily_credits,
        seed=args.seed,
    )


def faults_from(args: argparse.Namespace) -> FaultPlan:
    return FaultPlan(seed=args.seed, slow_seconds=args.slow_seconds, **args.faults)


def _build_emulator(args: argparse.Namespace, limits: ServerLimits, faults: FaultPlan) -> Any:
    from bigin_emulator.emulator import BiginEmulator

    return BiginEmulator(
        seed=args.seed, seed_records=args.seed_records, limits=limits, faults=faults, realism=args.realism
    )


def _banner(
    url: str, emulator: Any, args: argparse.Namespace, limits: ServerLimits, faults: FaultPlan
) -> str:
    client_id, client_secret = emulator.client_id, emulator.client_secret
    refresh_token = emulator.refresh_token
    return "\n".join(
        [
            f"Bigin emulator listening on {url}",
            f"  API base       {url}/bigin/v2",
            f"  token URL      {url}/oauth/v2/token",
            f"  client_id      {client_id}",
            f"  client_secret  {client_secret}",
            f"  refresh_token  {refresh_token}",
            f"  access_token   {emulator.issue_token()}   (header: Authorization: Zoho-oauthtoken <token>)",
            f"  seeded records {args.seed_records} contacts",
            f"  limits         {limits}",
            f"  faults         {faults if faults.total_rate else 'none'}",
            f"  realism        {getattr(args, 'realism', 'kind')}",
            "",
            f"  BiginClient(api_domain={url!r}, accounts_url={url!r},",
            f"              client_id={client_id!r}, client_secret={client_secret!r}, refresh_token={refresh_token!r})",
            "",
            "Press Ctrl-C to stop.",
            "",
        ]
    )


async def run(
    args: argparse.Namespace,
    *,
    build: EmulatorFactory = _build_emulator,
    out: TextIO | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Build the emulator, serve it, print how to reach it, and serve until cancelled."""
    limits, faults = limits_from(args), faults_from(args)
    emulator = build(args, limits, faults)
    app = emulator.app
    realism = getattr(emulator, "realism", None)
    if not isinstance(realism, Realism):
        realism = Realism()
    async with serve(
        app,
        host=args.host,
        port=args.port,
        keep_alive_timeout=realism.keep_alive_timeout,
        hang_up_after=realism.hang_up_after,
    ) as url:
        out = out if out is not None else sys.stdout  # looked up late, so redirection works
        out.write(_banner(url, emulator, args, limits, faults))
        out.flush()
        if ready is not None:
            ready(url)
        await anyio.sleep_forever()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        anyio.run(run, args, backend="asyncio")  # uvicorn needs asyncio
    except KeyboardInterrupt:
        sys.stdout.write("\nstopped\n")
    except (ValueError, RuntimeError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
