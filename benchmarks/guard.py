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

Ratios still drift by 15-20 % from one day to the next here, more than the tolerance: the machine
moves, not the code. ``--against REV`` takes the baseline from the same run instead: the library
and the emulator as they were at ``REV`` (``git archive``, imported through ``PYTHONPATH``, as
``benchmarks/instructions.py`` takes another tree) run the same benchmark scripts, turn about with
this tree's, and this tree's ratios must be within the tolerance of theirs:

    .venv/bin/python benchmarks/guard.py --against 421543d   # or: make bench AGAINST=421543d

Prints one JSON document: per figure its baseline, the value now, the change and whether it holds.
Not part of ``make test``: a benchmark takes minutes and wants a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# What --against takes of a revision: the code under test, not the benchmarks that measure it.
LIBRARY = ("bigin_async", "emulator/bigin_emulator")
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


def run(benchmark: Benchmark, env: Mapping[str, str] | None = None) -> dict[str, float]:
    """Run one benchmark in a child process of this Python; its figures by ``name.path``.

    ``env``: the child's environment (:func:`code_env`, to run it on another revision's code)."""
    done = subprocess.run(
        [sys.executable, str(HERE / benchmark.argv[0]), *benchmark.argv[1:]],
        stdout=subprocess.PIPE,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        on = " on the revision's code" if env is not None else ""
        raise RuntimeError(f"{benchmark.name} exited {done.returncode}{on}")
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


def reference_tree(rev: str, into: Path, repo: Path | None = None) -> Path:
    """The library and the emulator as they were at ``rev`` of ``repo``, extracted into ``into``."""
    repo = REPO if repo is None else repo
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", rev, "--", *LIBRARY],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        said = archive.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"git archive {rev!r} failed: {said}")
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def code_env(tree: Path) -> dict[str, str]:
    """An environment whose Python imports ``bigin_async`` and ``bigin_emulator`` from ``tree``
    (ahead of this checkout's editable install)."""
    paths = [str(tree), str(tree / "emulator")]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def check_imports(env: Mapping[str, str] | None, tree: Path) -> None:
    """RuntimeError unless a child with ``env`` imports both packages from ``tree``: a guard that
    quietly measured this checkout twice would always hold. Asked as the benchmarks are run, by a
    script (``python -c`` would look in the working directory first)."""
    with tempfile.TemporaryDirectory(prefix="bench-which-") as scratch:
        script = Path(scratch) / "which.py"
        script.write_text(
            "import bigin_async, bigin_emulator\n"
            "print(bigin_async.__file__)\n"
            "print(bigin_emulator.__file__)\n",
            encoding="utf-8",
        )
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, check=False
        )
    files = [Path(line).resolve() for line in done.stdout.splitlines()]
    root = tree.resolve()
    if done.returncode != 0 or len(files) != 2 or not all(root in f.parents for f in files):
        raise RuntimeError(f"the child imports {files or done.stderr.strip()!r}, not the code in {tree}")


def measure_against(
    rev: str, chosen: Sequence[Benchmark], repeat: int, better: Mapping[str, Better]
) -> tuple[dict[str, float], dict[str, float]]:
    """This tree's figures and ``rev``'s, each benchmark run ``repeat`` times on each in turn
    (so a machine that slows down during the run slows both), the best of each kept."""
    current: dict[str, float] = {}
    reference: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-against-") as scratch:
        tree = reference_tree(rev, Path(scratch))
        env = code_env(tree)
        check_imports(env, tree)
        for benchmark in chosen:
            now_runs, then_runs = [], []
            for _ in range(repeat):
                now_runs.append(run(benchmark))
                then_runs.append(run(benchmark, env))
            current.update(best_of(now_runs, better))
            reference.update(best_of(then_runs, better))
    return current, reference


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
    parser.add_argument(
        "--against",
        metavar="REV",
        help="take the baseline from REV's code measured in this same run, not from the file",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.against and args.update:
        parser.error("--update records this tree's figures; it cannot be given with --against")
    chosen = [b for b in QUICK if not args.only or b.name in args.only]
    better = {f"{b.name}.{f.path}": f.better for b in QUICK for f in b.figures}
    current: dict[str, float] = {}
    if args.against:
        current, baseline = measure_against(args.against, chosen, args.repeat, better)
    else:
        for benchmark in chosen:
            current.update(best_of([run(benchmark) for _ in range(args.repeat)], better))
        baseline = read_baseline(args.baseline)
    if args.update:
        merged = {**baseline, **current}
        document = {"python": platform.python_version(), "machine": platform.machine(), "figures": merged}
        args.baseline.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    verdicts = compare(baseline, current, better, args.tolerance)
    held = all(v["ok"] for v in verdicts)
    report = {
        "tolerance": args.tolerance,
        "held": held,
        "updated": args.update,
        "against": args.against,
        "figures": verdicts,
    }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0 if held or args.update else 1


if __name__ == "__main__":
    sys.exit(main())
