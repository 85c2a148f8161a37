"""``make bench``'s guard (benchmarks/guard.py): ratios compared with the committed baseline."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_guard", ROOT / "benchmarks" / "guard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_guard"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


guard = _load()


def test_a_ratio_more_than_ten_per_cent_worse_fails_either_way() -> None:
    better = {"speed": "higher", "cost": "lower"}
    base = {"speed": 1.0, "cost": 1.0}
    held = guard.compare(base, {"speed": 0.91, "cost": 1.09}, better)
    assert [v["ok"] for v in held] == [True, True]
    failed = guard.compare(base, {"speed": 0.89, "cost": 1.11}, better)
    assert [v["ok"] for v in failed] == [False, False]
    assert failed[0]["change"] == -0.11 and failed[1]["change"] == 0.11
    # Better than the baseline by any amount holds.
    assert all(v["ok"] for v in guard.compare(base, {"speed": 3.0, "cost": 0.1}, better))


def test_a_figure_without_a_baseline_holds_and_says_so() -> None:
    (verdict,) = guard.compare({}, {"new": 0.5}, {"new": "higher"})
    assert verdict["ok"] and verdict["note"] == "no baseline yet"


def test_a_tolerance_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        guard.compare({}, {}, {}, tolerance=1.5)


def test_pick_reads_dotted_keys_and_names_what_is_missing() -> None:
    assert guard.pick({"a": {"b": 2}}, "a.b") == 2.0
    with pytest.raises(ValueError, match="'a.c'"):
        guard.pick({"a": {"b": 2}}, "a.c")
    with pytest.raises(ValueError, match="not a number"):
        guard.pick({"a": True}, "a")


def test_a_hostile_baseline_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    assert guard.read_baseline(path) == {}  # none yet
    path.write_text(json.dumps({"figures": {"x": "fast"}}))
    with pytest.raises(ValueError, match="not a baseline"):
        guard.read_baseline(path)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a baseline"):
        guard.read_baseline(path)


def _fake(tmp_path: Path, value: float) -> Any:
    script = tmp_path / "fake.py"
    script.write_text(f"import json\nprint(json.dumps({{'r': {{'ratio': {value}}}}}))\n")
    return guard.Benchmark("fake", (str(script),), (guard.Figure("r.ratio", "lower"),))


def test_main_updates_then_fails_on_a_regression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    monkeypatch.setattr(guard, "QUICK", (_fake(tmp_path, 1.0),))
    assert guard.main(["--baseline", str(baseline), "--update"]) == 0
    assert json.loads(baseline.read_text())["figures"] == {"fake.r.ratio": 1.0}
    capsys.readouterr()
    monkeypatch.setattr(guard, "QUICK", (_fake(tmp_path, 1.05),))
    assert guard.main(["--baseline", str(baseline)]) == 0
    capsys.readouterr()
    monkeypatch.setattr(guard, "QUICK", (_fake(tmp_path, 1.2),))
    assert guard.main(["--baseline", str(baseline)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["held"] is False and report["figures"][0]["change"] == 0.2


def test_the_committed_baseline_covers_every_quick_figure() -> None:
    committed = guard.read_baseline(guard.BASELINE)
    expected = {f"{b.name}.{f.path}" for b in guard.QUICK for f in b.figures}
    assert set(committed) == expected


def test_the_best_of_several_runs_counts_each_figure_its_own_way() -> None:
    better = {"speed": "higher", "cost": "lower"}
    runs = [{"speed": 0.6, "cost": 1.3}, {"speed": 0.86, "cost": 1.5}, {"speed": 0.7, "cost": 1.2}]
    assert guard.best_of(runs, better) == {"speed": 0.86, "cost": 1.2}
    with pytest.raises(ValueError, match="no runs"):
        guard.best_of([], better)


def test_main_runs_each_benchmark_repeat_times_and_keeps_the_best(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    counter = tmp_path / "runs"
    script = tmp_path / "noisy.py"
    # The first run is the slow one (a busy moment): 1.5, then 1.0 and 1.1.
    script.write_text(
        "import json, pathlib\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = len(p.read_text()) if p.exists() else 0\n"
        "p.write_text('x' * (n + 1))\n"
        "print(json.dumps({'r': {'ratio': [1.5, 1.0, 1.1][n % 3]}}))\n"
    )
    noisy = guard.Benchmark("noisy", (str(script),), (guard.Figure("r.ratio", "lower"),))
    monkeypatch.setattr(guard, "QUICK", (noisy,))
    baseline = tmp_path / "baseline.json"
    assert guard.main(["--baseline", str(baseline), "--update"]) == 0
    assert json.loads(baseline.read_text())["figures"] == {"noisy.r.ratio": 1.0}
    assert counter.read_text() == "xxx"
    capsys.readouterr()
    assert guard.main(["--baseline", str(baseline), "--repeat", "1"]) == 1  # the busy run alone
    with pytest.raises(SystemExit):
        guard.main(["--repeat", "0"])


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def _old_tree(tmp_path: Path) -> Path:
    """A repository whose one commit holds a library and an emulator that say they are the old ones."""
    repo = tmp_path / "repo"
    (repo / "bigin_async").mkdir(parents=True)
    (repo / "emulator" / "bigin_emulator").mkdir(parents=True)
    (repo / "bigin_async" / "__init__.py").write_text("WHICH = 'old'\n")
    (repo / "emulator" / "bigin_emulator" / "__init__.py").write_text("WHICH = 'old'\n")
    (repo / "README.md").write_text("not taken\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "old")
    return repo


def _which(tmp_path: Path, old: float, new: float) -> Any:
    """A benchmark whose ratio says which ``bigin_async`` it imported: ``old`` or ``new``."""
    script = tmp_path / "which.py"
    script.write_text(
        "import json, bigin_async, bigin_emulator\n"
        "old = getattr(bigin_async, 'WHICH', None) == 'old'\n"
        "assert old == (getattr(bigin_emulator, 'WHICH', None) == 'old')\n"
        f"print(json.dumps({{'r': {{'ratio': {old} if old else {new}}}}}))\n"
    )
    return guard.Benchmark("which", (str(script),), (guard.Figure("r.ratio", "lower"),))


def test_against_a_revision_runs_the_same_benchmark_on_its_code_and_compares_with_that(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _old_tree(tmp_path)
    monkeypatch.setattr(guard, "REPO", repo)
    never = tmp_path / "no-baseline.json"  # the committed figures are not read in this mode
    never.write_text("hostile")
    monkeypatch.setattr(guard, "QUICK", (_which(tmp_path, old=1.0, new=1.05),))
    assert guard.main(["--baseline", str(never), "--against", "HEAD", "--repeat", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["against"] == "HEAD"
    (verdict,) = report["figures"]
    assert (verdict["baseline"], verdict["now"]) == (1.0, 1.05)
    monkeypatch.setattr(guard, "QUICK", (_which(tmp_path, old=1.0, new=1.2),))
    assert guard.main(["--baseline", str(never), "--against", "HEAD"]) == 1
    assert json.loads(capsys.readouterr().out)["figures"][0]["change"] == 0.2


def test_against_takes_only_the_library_of_the_revision(tmp_path: Path) -> None:
    repo = _old_tree(tmp_path)
    tree = guard.reference_tree("HEAD", tmp_path / "tree", repo)
    assert sorted(p.name for p in tree.iterdir()) == ["bigin_async", "emulator"]
    env = guard.code_env(tree)
    assert env["PYTHONPATH"].split(os.pathsep)[:2] == [str(tree), str(tree / "emulator")]
    guard.check_imports(env, tree)  # the old code is what a child imports
    with pytest.raises(RuntimeError, match="imports"):
        guard.check_imports(None, tree)  # this tree's own code is not the revision's


def test_against_an_unknown_revision_or_with_update_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guard, "REPO", _old_tree(tmp_path))
    with pytest.raises(RuntimeError, match="no-such-rev"):
        guard.reference_tree("no-such-rev", tmp_path / "tree")
    with pytest.raises(SystemExit):
        guard.main(["--against", "HEAD", "--update"])
