"""Module names as people type them: a typo gets the nearest name from the SDK itself (``bigin
export Contcts`` is refused before any call, with "did you mean Contacts?"), a pasted paragraph is
quoted cut short, and ``'Contacts '`` with a stray space is Contacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bigin_async.cli.common import module_api_name
from bigin_async.cli.modules import module_suggestions
from bigin_async.errors import UsageError, ValidationError
from bigin_async.models.jobs import BULK_READ_MODULES, check_bulk_module
from bigin_async.models.modules import nearest_modules, quoted_module_name
from bigin_emulator import BiginEmulator
from tests.helpers.cli import bigin


def test_the_sdk_names_the_nearest_modules_and_the_cli_uses_the_same() -> None:
    assert nearest_modules("Contcts") == ["Contacts"]
    assert nearest_modules("companis") == ["Companies"]
    assert nearest_modules("Xyzzy") == []
    assert nearest_modules("Vendros", among=["Vendors", "Contacts"]) == ["Vendors"]
    assert nearest_modules("Contacts") == []  # the name itself is no suggestion
    assert nearest_modules("C" * 101) == []  # a pasted paragraph is no typo of a module
    for name in ("Contcts", "companis", "Deal", "Xyzzy"):
        assert module_suggestions(name) == nearest_modules(name)


@pytest.mark.parametrize("kind", ["write", "read"])
def test_a_bulk_job_refusing_a_typo_suggests_only_modules_it_takes(kind: str) -> None:
    with pytest.raises(ValidationError, match=r"'Contcts' is not a module .* did you mean Contacts\?"):
        check_bulk_module("Contcts", kind)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"did you mean Companies\?"):
        check_bulk_module("Companis", kind)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as refused:
        check_bulk_module("Note", kind)  # type: ignore[arg-type]
    assert "did you mean" not in str(refused.value)  # Notes is a module, but not one bulk jobs take
    assert "Notes" not in BULK_READ_MODULES


def test_a_long_name_is_quoted_cut_short() -> None:
    pasted = "Contacts," + "x" * 200
    assert quoted_module_name(pasted) == repr(pasted[:60] + "...")
    assert quoted_module_name("Contacts") == "'Contacts'"
    with pytest.raises(UsageError) as refused:
        module_api_name(pasted)
    assert quoted_module_name(pasted) in str(refused.value) and pasted not in str(refused.value)
    with pytest.raises(ValidationError) as bulk:
        check_bulk_module(pasted, "read")
    assert pasted not in str(bulk.value) and len(str(bulk.value)) < 200


def test_a_name_with_stray_spaces_is_the_module() -> None:
    assert module_api_name("Contacts ") == "Contacts"
    assert module_api_name("  companies\t") == "Accounts"
    assert module_api_name(" Vendors ") == "Vendors"  # a custom module's API name, as given but trimmed
    with pytest.raises(UsageError):
        module_api_name("   ")


async def test_exporting_a_typo_by_the_default_route_suggests_the_module_with_no_call(tmp_path: Path) -> None:
    emulator = BiginEmulator(seed_records=3)
    run = await bigin(emulator, "export", "Contcts", "-o", str(tmp_path / "x.csv"))
    assert run.code == 2
    assert "did you mean Contacts?" in " ".join(run.err.split())
    assert emulator.counters.requests_total == 0
    assert not (tmp_path / "x.csv").exists()


async def test_a_long_or_spaced_module_name_on_the_command_line(tmp_path: Path) -> None:
    emulator = BiginEmulator(seed_records=3)
    pasted = "C" * 150
    long = await bigin(emulator, "export", pasted, "-o", str(tmp_path / "x.csv"))
    assert long.code == 2 and pasted not in long.err and "C" * 60 + "..." in long.err
    assert emulator.counters.requests_total == 0
    spaced = await bigin(emulator, "export", "Contacts ", "-o", str(tmp_path / "y.csv"), "--via", "calls")
    assert spaced.code == 0, spaced.err
    assert (tmp_path / "y.csv").read_text(encoding="utf-8").count("\n") == 4  # header + 3 records
