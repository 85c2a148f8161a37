"""The ``bigin_emulator`` pytest plugin, as a user's project meets it: found through its entry point.

Each test here writes a small test file into a fresh directory and runs pytest on it (``pytester``),
so the fixtures are seen exactly as a project that merely installed ``bigin-emulator`` sees them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: warnings are errors (pytest-asyncio, installed here, wants its loop scope)."""
    pytester.makeini(
        """
        [pytest]
        addopts = -p no:cacheprovider
        asyncio_default_fixture_loop_scope = function
        filterwarnings = error
        """
    )
    return pytester


def test_the_emulator_fixture_and_the_marker(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        def test_fresh_org(emulator):
            assert emulator.store.tables["Contacts"].records == {}
            assert emulator.realism.bare_429s is False

        @pytest.mark.bigin_emulator(realism="zoho", seed_records=3)
        def test_marker_keywords(emulator):
            assert emulator.realism.bare_429s is True
            assert len(emulator.store.tables["Contacts"].records) == 3

        def test_one_org_per_test(emulator):
            assert emulator.store.tables["Contacts"].records == {}
        """
    )
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=3)


def test_the_marker_is_registered(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.bigin_emulator(seed_records=1)
        def test_marked(emulator):
            assert len(emulator.store.tables["Contacts"].records) == 1
        """
    )
    result = project.runpytest_subprocess("--strict-markers")
    result.assert_outcomes(passed=1)


def test_emulator_client_on_asyncio_and_trio(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.anyio

        @pytest.fixture(params=["asyncio", "trio"])
        def anyio_backend(request):
            return request.param

        async def test_create_and_read(emulator, emulator_client):
            created = await emulator_client.contacts.create({"Last_Name": "Ng"})
            assert (await emulator_client.contacts.get(created.id)).Last_Name == "Ng"
            assert list(emulator.store.tables["Contacts"].records) == [created.id]

        @pytest.mark.bigin_emulator(seed_records=2)
        async def test_sees_the_marked_org(emulator_client):
            assert len([c async for c in emulator_client.contacts.list()]) == 2
        """
    )
    result = project.runpytest_subprocess("-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["*test_create_and_read?asyncio?*PASSED*", "*test_create_and_read?trio?*PASSED*"]
    )


def test_importing_the_plugin_loads_neither_starlette_nor_the_sdk() -> None:
    code = (
        "import sys, bigin_emulator.pytest_plugin; "
        "loaded = [m for m in ('starlette', 'uvicorn', 'bigin_async', 'bigin_emulator.emulator') "
        "if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
