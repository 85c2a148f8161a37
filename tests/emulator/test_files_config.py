"""How big the emulator lets files be: ``FileLimits`` from the command line and the pytest marker."""

from __future__ import annotations

import pytest

from bigin_emulator import BiginEmulator, FileLimits
from bigin_emulator.cli import build_emulator, faults_from, limits_from, parse_args

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("20971520", 20971520),
        ("512K", 512 * 1024),
        ("200M", 200 * 1024**2),
        ("1g", 1024**3),
        ("3MB", 3 * 1024**2),
    ],
)
def test_serve_takes_file_sizes_with_units(given: str, expected: int) -> None:
    args = parse_args(["serve", "--max-file-bytes", given, "--max-stored-bytes", given])
    assert (args.max_file_bytes, args.max_stored_bytes) == (expected, expected)


@pytest.mark.parametrize("bad", ["0", "-1", "M", "1.5M", "twenty", "10T"])
def test_serve_refuses_sizes_that_are_not_sizes(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["serve", "--max-file-bytes", bad])
    assert "expected a size" in capsys.readouterr().err


def test_the_emulator_served_has_the_file_limits_asked_for() -> None:
    args = parse_args(
        ["serve", "--seed-records", "0", "--max-file-bytes", "200M", "--max-stored-bytes", "1G"]
    )
    emulator = build_emulator(args, limits_from(args), faults_from(args))
    assert emulator.ctx.config.files == FileLimits(max_file_bytes=200 * 1024**2, max_stored_bytes=1024**3)
    defaults = parse_args(["serve"])
    assert (defaults.max_file_bytes, defaults.max_stored_bytes) == (20 * 1024**2, 256 * 1024**2)


def test_file_limits_are_a_keyword_of_the_emulator() -> None:
    emulator = BiginEmulator(file_limits=FileLimits(max_stored_bytes=10))
    assert (
        emulator.uploads.limits.max_stored_bytes == 10
        and emulator.ctx.config.files.max_file_bytes == 20 * 1024**2
    )


def test_the_pytest_marker_passes_file_limits_and_faults(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\naddopts = -p no:cacheprovider\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    pytester.makepyfile(
        """
        import pytest
        from bigin_emulator import FileFaults, FileLimits

        @pytest.mark.bigin_emulator(
            file_limits=FileLimits(max_file_bytes=200 * 1024 * 1024),
            file_faults=FileFaults(drop_upload_answers=1),
        )
        def test_marked(emulator):
            assert emulator.ctx.config.files.max_file_bytes == 200 * 1024 * 1024
            assert emulator.file_faults.drop_upload_answers == 1

        def test_default(emulator):
            assert emulator.uploads.limits == FileLimits()
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=2)
