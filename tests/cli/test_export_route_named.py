"""The export summary names the route that ran, not ``auto`` (a docs review found "via auto").

``bigin import`` said "via calls (auto: ...)" while ``bigin export`` said "via auto": the user
could not tell whether Bulk Read jobs (50 credits each) or pages (1 credit each) were used.
"""

from __future__ import annotations

from pathlib import Path

from bigin_emulator import BiginEmulator
from tests.helpers.cli import bigin


async def test_auto_names_the_pages_it_chose_for_a_small_module(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    emulator.seed_data(contacts=30)
    run = await bigin(emulator, "export", "Contacts", "-o", str(tmp_path / "c.csv"))
    assert run.code == 0, run.err
    summary = " ".join(run.out.split())
    assert "via calls" in summary and "via auto" not in summary, summary
    assert "auto chose pages of 200" in summary


async def test_an_explicit_route_is_named_as_given(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    emulator.seed_data(contacts=5)
    run = await bigin(emulator, "export", "Contacts", "-o", str(tmp_path / "c.csv"), "--via", "calls")
    summary = " ".join(run.out.split())
    assert run.code == 0 and "via calls" in summary and "auto chose" not in summary, summary
