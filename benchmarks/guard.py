"""The regression guard behind ``make bench``: the quick benchmarks, their ratios against a baseline.

Each quick benchmark runs in a child process (its JSON on stdout); the figures kept are ratios
(the SDK against raw httpx on the same work in the same run, or a run against its floor), never
times, so a busy machine slows both sides alike and does not fail the guard. A ratio more than
``--tolerance`` (10 %) worse than the one in ``benchmarks/baseline.json`` fails it (exit 1).
Each benchmark runs ``--repeat`` times (3) and its best figure counts: one run's ratio moves by
up to 20 % on a shared machine.

    .venv/bin/python benchmarks/guard.py              # compare with benchmarks/baseline.json
    .venv/bin/python benchmarks/guard.py --update     # write the figures measured as the baseline
    .venv/bin/python benchmarks/guard.py --only pagination --repeat 1

Prints one JSON document: per figure its baseline, the value now, the change and whether it holds.
Not part of ``make test``: a benchmark takes minutes and wants a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline.json"
TOLERANCE = 0.10

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Figure:
    """One ratio a benchmark prints: where it is in the JSON and which way is better."""

    path: str  # dotted keys into the benchmark's JSON document
    better: Better


@dataclass(frozen=True)
class Benchmark:
    """A quick run of one script of ``benchmarks/`` and the figures the guard keeps from it."""

    name: str
    argv: tuple[str, ...]
    figures: tuple[Figure, ...]


QUICK: tuple[Benchmark, ...] = (
    Benchmark(
        "transport_overhead",
        ("transport_overhead.py",),
        (Figure("ratio_sdk_over_raw", "lower"),),
    ),
    Benchmark(
        "pagination",
        ("pagination.py", "--records", "20000", "--rounds", "3"),
        (
            Figure("end_to_end.sdk_over_raw", "higher"),
            Figure("client_only.sdk_over_raw", "higher"),
            Figure("parsing.typed_over_json_loads", "lower"),
        ),
    ),
    Benchmark(
        "bulk_import",
        ("bulk_import.py", "--records", "20000", "--rate-seconds", "0", "--skip-sequential"),
        (
            Figure("concurrent.ratio_to_floor", "lower"),
            Figure("concurrent_fixed_answer_server.ratio_to_floor", "lower"),
            Figure("raw_httpx_fixed_answer_server.sdk_over_raw_elapsed", "lower"),
        ),
    ),
)


def pick(document: Mapping[str, Any], path: str) -> float:
    """The number at ``path`` (dotted keys) of a benchmark's JSON; ValueError naming what is wrong."""
    value: Any = document
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            raise ValueError(f"the benchmark's JSON has no {path!r} (no {key!r})")
        value = value[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{path!r} is {value!r}, not a number")
    return float(value)


def compare(
    baseline: Mapping[str, float],
    current: Mapping[str, float],
    figures: Mapping[str, Better],
    tolerance: float = TOLERANCE,
) -> list[dict[str, Any]]:
    """One verdict per figure measured now: ``ok`` unless it is more than ``tolerance`` worse.

    A figure with no baseline yet holds (and says so): a new benchmark does not fail the guard
    before its first ``--update``. A ratio is worse when it falls (``higher`` is better) or grows
    (``lower`` is better) by more than ``tolerance`` of the baseline.
    """
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be in [0, 1), not {tolerance!r}")
    verdicts = []
    for name, value in current.items():
        better = figures[name]
        base = baseline.get(name)
        verdict: dict[str, Any] = {"figure": name, "better": better, "now": value, "baseline": base}
        if base is None or base <= 0:
            verdict.update(ok=True, note="no baseline yet")
        else:
            change = value / base - 1.0
            worse = -change if better == "higher" else change
            verdict.update(change=round(change, 3), ok=worse <= tolerance)
        verdicts.append(verdict)
    return verdicts


def run(benchmark: Benchmark) -> dict[str, float]:
    """Run one benchmark in a child process of this Python; its figures by ``name.path``."""
    done = subprocess.run(
        [sys.executable, str(HERE / benchmark.argv[0]), *benchmark.argv[1:]],
        stdout=subprocess.PIPE,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{benchmark.name} exited {done.returncode}")
    document = json.loads(done.stdout)
    return {f"{benchmark.name}.{f.path}": pick(document, f.path) for f in benchmark.figures}


def best_of(runs: Sequence[Mapping[str, float]], figures: Mapping[str, Better]) -> dict[str, float]:
    """Each figure's best value over several runs of its benchmark, by the way it is better.

    A busy machine moves a ratio by up to 20 % from one run to the next (more than the
    tolerance), and only ever the wrong way when it slows one side more than the other, so the
    best of a few runs is what a quiet machine gives and what the guard compares.
    """
    if not runs:
        raise ValueError("no runs to take the best of")
    best: dict[str, float] = {}
    for name in runs[0]:
        values = [run[name] for run in runs]
        best[name] = max(values) if figures[name] == "higher" else min(values)
    return best


def read_baseline(path: Path) -> dict[str, float]:
    """The committed figures (``{"figures": {name: ratio}}``); a missing file has none."""
    if not path.exists():
        return {}
    document = json.loads(path.read_text(encoding="utf-8"))
    figures = document.get("figures") if isinstance(document, dict) else None
    if not isinstance(figures, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in figures.values()
    ):
        raise ValueError(f"{path} is not a baseline ({{'figures': {{name: number}}}})")
    return {str(k): float(v) for k, v in figures.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    parser.add_argument("--update", action="store_true", help="write the figures measured as the baseline")
    parser.add_argument("--only", action="append", choices=[b.name for b in QUICK], help="one benchmark")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each benchmark; the best figure counts (default 3)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    chosen = [b for b in QUICK if not args.only or b.name in args.only]
    better = {f"{b.name}.{f.path}": f.better for b in QUICK for f in b.figures}
    current: dict[str, float] = {}
    for benchmark in chosen:
        current.update(best_of([run(benchmark) for _ in range(args.repeat)], better))
    baseline = read_baseline(args.baseline)
    if args.update:
        merged = {**baseline, **current}
        document = {"python": platform.python_version(), "machine": platform.machine(), "figures": merged}
        args.baseline.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    verdicts = compare(baseline, current, better, args.tolerance)
    held = all(v["ok"] for v in verdicts)
    report = {"tolerance": args.tolerance, "held": held, "updated": args.update, "figures": verdicts}
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0 if held or args.update else 1


if __name__ == "__main__":
    sys.exit(main())
