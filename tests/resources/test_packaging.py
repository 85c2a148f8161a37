"""What pip users and packagers get: the wheels and sdists of ``bigin-async`` and ``bigin-emulator``.

Both distributions are built here for real (``setuptools.build_meta``, as ``python -m build`` calls
it, with every Python warning an error, so a deprecated ``license`` form fails), from a copy of
their folder: the sdist first, then the wheel from the unpacked sdist alone, as pip builds it from
PyPI. The wheel must hold its own package only (no ``tests``, and not the other distribution),
with ``py.typed`` and the licence; the metadata must carry the SPDX licence, the long description
PyPI shows, the dependencies (extras included) and the entry points.

A folder of modules without ``__init__.py`` is left out of a wheel: ``setuptools.packages.find``
only finds regular packages. ``bigin_async/modules`` once had none: an editable install worked (a
namespace package), a built wheel would not have contained the module clients at all.
"""

from __future__ import annotations

import ast
import configparser
import email.parser
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from setuptools import find_packages

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
# What a checkout holds that is not source: never copied into the build folder.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", ".coverage*"
)
# Builds the sdist or the wheel of the project in the current folder into the folder given.
_BUILD = (
    "import sys; from setuptools import build_meta; print(getattr(build_meta, 'build_' + sys.argv[1])('.'))"
)


@dataclass(frozen=True)
class Distribution:
    name: str
    package: str
    folder: Path
    readme: Path
    entry_points: dict[str, dict[str, str]]
    # Imports of packages the distribution does not declare, and why that is right.
    undeclared_imports: dict[str, str] = field(default_factory=dict)

    @property
    def project(self) -> dict[str, Any]:
        table: dict[str, Any] = tomllib.loads((self.folder / "pyproject.toml").read_text())["project"]
        return table


SDK = Distribution(
    "bigin-async",
    "bigin_async",
    ROOT,
    ROOT / "docs" / "pypi.md",
    {"console_scripts": {"bigin": "bigin_async.cli:main"}},
    # The import's name is not its distribution's: the otel extra declares opentelemetry-api.
    {
        "opentelemetry": "opentelemetry-api, of the otel extra",
        # pydantic's own dependencies, at the versions pydantic pins (models/base.py reads
        # pydantic's field metadata and its undefined marker from them).
        "pydantic_core": "pydantic's, pinned by it",
        "annotated_types": "pydantic's, pinned by it",
    },
)
EMULATOR = Distribution(
    "bigin-emulator",
    "bigin_emulator",
    ROOT / "emulator",
    ROOT / "emulator" / "README.md",
    {
        "console_scripts": {"bigin-emulator": "bigin_emulator.cli:main"},
        "pytest11": {"bigin_emulator": "bigin_emulator.pytest_plugin"},
    },
    {
        "pytest": "only the pytest plugin imports it, and only pytest imports the plugin",
        "sniffio": "imported only if installed: it tells trio, which depends on it, is running",
    },
)
DISTRIBUTIONS = [SDK, EMULATOR]


@dataclass(frozen=True)
class Built:
    sdist: list[str]
    wheel: dict[str, bytes]

    def dist_info(self, name: str) -> bytes:
        (path,) = [
            path for path in self.wheel if path.split("/")[0].endswith(".dist-info") and path.endswith(name)
        ]
        return self.wheel[path]

    @property
    def metadata(self) -> Message:
        return email.parser.BytesParser().parsebytes(self.dist_info("/METADATA"))


def _run_build(kind: str, folder: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", _BUILD, kind],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"building the {kind} failed:\n{done.stderr}"
    return folder / done.stdout.strip().splitlines()[-1]


def _build(distribution: Distribution, work: Path) -> Built:
    source = work / "source"
    shutil.copytree(distribution.folder, source, ignore=_NOT_SOURCE)
    sdist = _run_build("sdist", source)
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
        archive.extractall(work / "unpacked", filter="data")
    (unpacked,) = (work / "unpacked").iterdir()
    wheel = _run_build("wheel", unpacked)
    with zipfile.ZipFile(wheel) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return Built([member.partition("/")[2] for member in members], files)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    pytest.importorskip("setuptools", minversion="77")  # make installs it (the dev extra)
    return {dist.name: _build(dist, tmp_path_factory.mktemp(dist.package)) for dist in DISTRIBUTIONS}


def _sources(distribution: Distribution) -> set[str]:
    return {
        path.relative_to(distribution.folder).as_posix()
        for path in (distribution.folder / distribution.package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=lambda dist: dist.name)
def test_every_folder_with_python_files_is_a_package_setuptools_finds(distribution: Distribution) -> None:
    found = set(find_packages(where=str(distribution.folder), include=[f"{distribution.package}*"]))
    folders = {
        ".".join(path.parent.relative_to(distribution.folder).parts)
        for path in (distribution.folder / distribution.package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert folders <= found, f"not packaged: {sorted(folders - found)}"
    if distribution is SDK:
        assert "bigin_async.resources" in folders


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=lambda dist: dist.name)
def test_the_wheel_holds_its_own_package_whole_with_py_typed_and_the_licence(
    distribution: Distribution, built: dict[str, Built]
) -> None:
    wheel = built[distribution.name].wheel
    package_files = {path for path in wheel if not path.split("/")[0].endswith(".dist-info")}
    assert package_files == _sources(distribution)  # every file, and nothing else (no tests)
    assert f"{distribution.package}/py.typed" in package_files
    licence = built[distribution.name].dist_info("/licenses/LICENSE")
    assert licence == (distribution.folder / "LICENSE").read_bytes()


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=lambda dist: dist.name)
def test_the_sdist_holds_the_source_and_no_partial_test_suite(
    distribution: Distribution, built: dict[str, Built]
) -> None:
    # The suite spans both distributions and the examples: it runs from the repository, not an sdist.
    sdist = built[distribution.name].sdist
    assert not [member for member in sdist if member.startswith("tests")]
    readme = distribution.readme.relative_to(distribution.folder).as_posix()
    assert {"pyproject.toml", "LICENSE", readme} <= set(sdist)
    assert {member for member in sdist if member.startswith(f"{distribution.package}/")} >= _sources(
        distribution
    )


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=lambda dist: dist.name)
def test_the_metadata_has_the_spdx_licence_and_the_long_description_pypi_shows(
    distribution: Distribution, built: dict[str, Built]
) -> None:
    metadata = built[distribution.name].metadata
    assert metadata["Name"] == distribution.name
    assert metadata["License-Expression"] == "MIT"
    classifiers = metadata.get_all("Classifier") or []
    assert metadata["License"] is None and not [line for line in classifiers if line.startswith("License ::")]
    assert "Typing :: Typed" in classifiers
    assert (distribution is EMULATOR) == ("Framework :: Pytest" in classifiers)  # a pytest plugin
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata["Description-Content-Type"] == "text/markdown"
    description = metadata.get_payload()
    assert isinstance(description, str)
    assert description.strip() == distribution.readme.read_text().strip()
    # Wheel users have no checkout: the page must not send them to make.
    assert "make " not in description


def _requirements(metadata: Message) -> dict[str, set[str]]:
    """Requirement names by extra ("" for the dependencies every install gets)."""
    extras = metadata.get_all("Provides-Extra") or []
    by_extra: dict[str, set[str]] = {}
    for line in metadata.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        marker = requirement.marker
        in_extras = [
            extra
            for extra in extras
            if marker and marker.evaluate({"extra": extra}) and not marker.evaluate({"extra": ""})
        ]
        for extra in in_extras or [""]:
            by_extra.setdefault(extra, set()).add(canonicalize_name(requirement.name))
    return by_extra


def test_the_sdk_declares_its_dependencies_and_extras(built: dict[str, Built]) -> None:
    requirements = _requirements(built[SDK.name].metadata)
    assert requirements[""] == {"httpx", "anyio", "pydantic", "typing-extensions", "exceptiongroup"}
    assert requirements["emulator"] == {"bigin-emulator"}
    assert requirements["cli"] == {"rich"}
    assert requirements["fastapi"] == {"fastapi", "starlette"}  # the integration imports both
    assert requirements["redis"] == {"redis", "sniffio"}  # bigin_async.integrations.redis
    assert requirements["otel"] == {"opentelemetry-api"}  # bigin_async.integrations.otel
    assert "redis" in requirements["dev"]  # tests/redis_servers.py talks to the test servers with it
    assert "setuptools" in requirements["dev"]  # tests/resources/test_packaging.py builds with it


def test_the_emulator_declares_its_dependencies_and_the_sdk_extra(built: dict[str, Built]) -> None:
    requirements = _requirements(built[EMULATOR.name].metadata)
    assert requirements[""] == {"starlette", "uvicorn", "httpx", "anyio", "exceptiongroup"}
    assert requirements["sdk"] == {"bigin-async"}


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=lambda dist: dist.name)
def test_the_entry_points_name_functions_that_exist(
    distribution: Distribution, built: dict[str, Built]
) -> None:
    parser = configparser.ConfigParser()
    parser.read_string(built[distribution.name].dist_info("/entry_points.txt").decode())
    found = {group: dict(parser[group]) for group in parser.sections()}
    assert found == distribution.entry_points
    for group in found.values():
        for target in group.values():
            module, _, function = target.partition(":")
            imported = __import__(module, fromlist=["_"])
            assert not function or callable(getattr(imported, function))


def _third_party_imports(distribution: Distribution) -> set[str]:
    names: set[str] = set()
    for path in (distribution.folder / distribution.package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != distribution.package}


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=lambda dist: dist.name)
def test_every_package_the_code_imports_is_declared(distribution: Distribution) -> None:
    project = distribution.project
    extras: dict[str, list[str]] = project.get("optional-dependencies", {})
    lines = [
        *project["dependencies"],
        *(line for name, group in extras.items() if name != "dev" for line in group),
    ]
    declared = {canonicalize_name(Requirement(line).name) for line in lines}
    undeclared = {
        name for name in _third_party_imports(distribution) if canonicalize_name(name) not in declared
    }
    assert undeclared == set(distribution.undeclared_imports)
