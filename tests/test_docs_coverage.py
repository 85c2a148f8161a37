"""Every public name has a documentation entry, and the docs hold no broken reference.

The site (``make docs``: mkdocs.yml, docs/, the API reference built by mkdocstrings from the
docstrings) is checked here without mkdocs: a public name is documented when a ``::: target``
directive of docs/api/*.md renders it (a module's directive renders its ``__all__``, a class's its
own public members), or, for keywords and the CLI's flags, when the docs' prose names it in code.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import bigin_async.resources
from bigin_async.client import BiginClient
from bigin_async.resources.base import ModuleClient

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
CLI_PAGE = DOCS / "cli.md"
MKDOCS_YML = ROOT / "mkdocs.yml"

# The modules whose __all__ is the API a user imports from (the private modules' names reach users
# through bigin_async's own __all__).
PUBLIC_MODULES = (
    "bigin_async",
    "bigin_async.errors",
    "bigin_async.criteria",
    "bigin_async.bulk",
    "bigin_async.bulk.jobs",
    "bigin_async.pagination",
    "bigin_async.models",
    "bigin_async.auth",
    "bigin_async.webhooks",
    "bigin_async.integrations.fastapi",
    "bigin_async.integrations.redis",
    "bigin_async.integrations.otel",
    "bigin_async.hooks",
    "bigin_async.stats",
    "bigin_async.books",
)
BULK_METHODS = ("bulk_create", "bulk_update", "bulk_upsert", "bulk_delete", "bulk_import", "bulk_writer")
# What issue 14 named as missing from the docs: each must be in the prose, not only in a signature.
ISSUE_NAMES = (
    "email=",
    "phone=",
    "word=",
    "pipelines.list()",
    "open_bigin",
    "revoke",
    "ConfigurationError",
    "BulkWriteError",
    "BulkAbortedError",
    "InvalidCriteriaError",
    "keep_outcomes",
    "batch_size",
    "trigger",
)

DIRECTIVE = re.compile(r"^::: *([\w.]+)[ \t]*\n((?:[ \t]+\S.*\n?)*)", re.MULTILINE)
SNIPPET = re.compile(r'^--8<-- "([^":]+)(?::([\w-]+))?"[ \t]*$', re.MULTILINE)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6}) +(.+?) *#*$", re.MULTILINE)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def markdown_pages() -> list[Path]:
    return sorted(path for path in DOCS.rglob("*.md") if "_ext" not in path.parts)


def expand_snippets(text: str) -> str:
    """The page as mkdocs sees it: pymdownx.snippets' ``--8<-- "FILE:section"`` lines replaced by
    the lines between ``[start:section]`` and ``[end:section]`` of FILE (paths from the repo root)."""

    def include(match: re.Match[str]) -> str:
        path, section = ROOT / match.group(1), match.group(2)
        assert path.is_file(), f"snippet {match.group(0)!r}: no file {match.group(1)}"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        if section is None:
            return "".join(lines)
        starts = [i for i, line in enumerate(lines) if f"--8<-- [start:{section}]" in line]
        ends = [i for i, line in enumerate(lines) if f"--8<-- [end:{section}]" in line]
        assert len(starts) == 1 and len(ends) == 1 and starts[0] < ends[0], (
            f"snippet {match.group(0)!r}: {match.group(1)} needs one [start:{section}] and one "
            f"[end:{section}] marker, in that order"
        )
        return "".join(lines[starts[0] + 1 : ends[0]])

    return SNIPPET.sub(include, text)


def page_text(path: Path) -> str:
    return expand_snippets(path.read_text(encoding="utf-8"))


def prose_code() -> str:
    """Every code span and code block of the docs and the README, one per line: where a keyword,
    a method or a flag counts as named."""
    texts = [page_text(path) for path in markdown_pages()] + [README.read_text(encoding="utf-8")]
    spans: list[str] = []
    for text in texts:
        spans.extend(block for block in FENCE.findall(text))
        spans.extend(match.group(2) for match in CODE_SPAN.finditer(FENCE.sub("", text)))
    return "\n".join(spans)


def names_in_code(name: str, code: str) -> bool:
    """``name`` as a whole word (a flag as a whole flag: ``--max`` is not in ``--max-records``)."""
    edge = r"[\w-]" if name.startswith("-") else r"\w"
    return re.search(rf"(?<!{edge}){re.escape(name)}(?!{edge})", code) is not None


def resolve(dotted: str) -> Any:
    """What ``dotted`` names, by import: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            target = getattr(target, part)
        return target
    raise ImportError(dotted)


def object_key(obj: Any) -> tuple[str, ...] | None:
    """Where an object is defined (classes, functions, modules); None for plain values."""
    if inspect.ismodule(obj):
        return ("module", obj.__name__)
    if (inspect.isclass(obj) or inspect.isroutine(obj)) and hasattr(obj, "__qualname__"):
        return ("object", getattr(obj, "__module__", "") or "", obj.__qualname__)
    return None


def own_public_members(cls: type) -> list[str]:
    return [name for name in vars(cls) if not name.startswith("_")]


@dataclass
class Documented:
    """What the ``:::`` directives of docs/api render."""

    objects: set[tuple[str, ...]] = field(default_factory=set)
    members: set[tuple[tuple[str, ...], str]] = field(default_factory=set)
    values: dict[str, list[Any]] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)

    def add_class(self, cls: type) -> None:
        key = object_key(cls)
        assert key is not None
        self.objects.add(key)
        for name in own_public_members(cls):
            self.members.add((key, name))

    def add(self, name: str, obj: Any) -> None:
        key = object_key(obj)
        if inspect.isclass(obj):
            self.add_class(obj)
        elif key is not None:
            self.objects.add(key)
        else:
            self.values.setdefault(name, []).append(obj)

    def covers(self, name: str, obj: Any) -> bool:
        key = object_key(obj)
        if key is not None:
            return key in self.objects
        return any(value is obj or _equal(value, obj) for value in self.values.get(name, ()))


def _equal(left: object, right: object) -> bool:
    try:
        return bool(left == right)
    except Exception:
        return False


def directives() -> Iterator[tuple[Path, str, str]]:
    for path in markdown_pages():
        for match in DIRECTIVE.finditer(path.read_text(encoding="utf-8")):
            yield path, match.group(1), match.group(2)


def directive_members(options: str) -> list[str] | None:
    """The ``members:`` option of a directive (an inline JSON list), or None to render them all."""
    match = re.search(r"^\s*members:\s*(.+)$", options, re.MULTILINE)
    if match is None:
        return None
    members = json.loads(match.group(1))
    assert isinstance(members, list), f"members: {match.group(1)} must be an inline list"
    return [str(member) for member in members]


def documented() -> Documented:
    found = Documented()
    for path, target, options in directives():
        assert "filters:" not in options, f"{path.name}: ::: {target} filters members; list them instead"
        try:
            obj = resolve(target)
        except (ImportError, AttributeError):
            found.unresolved.append(f"{path.relative_to(ROOT)}: ::: {target}")
            continue
        members = directive_members(options)
        if inspect.ismodule(obj):
            names = members if members is not None else getattr(obj, "__all__", None)
            if names is None:
                names = [name for name in vars(obj) if not name.startswith("_")]
            if members is None:
                found.objects.add(("module", obj.__name__))
            for name in names:
                found.add(name, getattr(obj, name))
        elif inspect.isclass(obj):
            found.add_class(obj)
        else:
            found.add(target.rsplit(".", 1)[-1], obj)
    return found


def public_names() -> list[tuple[str, str, Any]]:
    """(where, name, object) of every name of a public module's __all__."""
    names: list[tuple[str, str, Any]] = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        all_names = getattr(module, "__all__", None)
        assert all_names, f"{module_name} has no __all__: its public names are not declared"
        names.extend((module_name, name, getattr(module, name)) for name in all_names)
    return names


def resource_modules() -> Iterator[ModuleType]:
    for info in pkgutil.iter_modules(bigin_async.resources.__path__):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"bigin_async.resources.{info.name}")


def client_classes() -> list[type]:
    """BiginClient, every resource client (``bigin.contacts``, ``bigin.pipelines``, an attachment
    list, a photo, ...) and every other public class called ``...Client``."""
    classes: dict[str, type] = {"BiginClient": BiginClient}
    modules = [*resource_modules(), *(importlib.import_module(name) for name in PUBLIC_MODULES)]
    for module in modules:
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) and (name.endswith("Client") or issubclass(obj, ModuleClient)):
                classes[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(classes.values())


def public_methods(cls: type) -> Iterator[tuple[type, str]]:
    """(the class that defines it, name) of every public method and property of ``cls``."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        if owner.__module__.startswith("bigin_async"):
            yield owner, name


def test_every_directive_resolves() -> None:
    found = documented()
    assert not found.unresolved, "::: directives that do not import:\n" + "\n".join(found.unresolved)
    assert len(list(directives())) >= 20


def test_every_public_name_has_an_entry() -> None:
    found = documented()
    code = prose_code()
    missing = [
        f"{where}.{name}"
        for where, name, obj in public_names()
        if not found.covers(name, obj) and not names_in_code(name, code)
    ]
    assert not missing, "public names with no documentation entry (add a ::: directive or prose):\n" + (
        "\n".join(missing)
    )


def test_every_client_method_has_an_entry() -> None:
    found = documented()
    missing = []
    for cls in client_classes():
        for owner, name in public_methods(cls):
            owner_key = object_key(owner)
            assert owner_key is not None
            if (owner_key, name) not in found.members:
                missing.append(
                    f"{cls.__qualname__}.{name} (defined by {owner.__module__}.{owner.__qualname__})"
                )
    assert not missing, "client methods no ::: directive renders:\n" + "\n".join(sorted(set(missing)))


def keywords() -> list[str]:
    """BiginClient's keywords, the bulk methods' and search's: each must be named in the prose."""
    names: dict[str, Callable[..., Any]] = {
        "BiginClient": BiginClient.__init__,
        "from_env": BiginClient.from_env,
    }
    names.update({method: getattr(ModuleClient, method) for method in (*BULK_METHODS, "search")})
    found = []
    for where, function in names.items():
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name in ("self", "cls") or parameter.kind in (
                parameter.VAR_KEYWORD,
                parameter.VAR_POSITIONAL,
            ):
                continue
            if where == "from_env" and parameter.name in inspect.signature(BiginClient.__init__).parameters:
                continue
            found.append(f"{where}:{parameter.name}")
    return found


def test_every_keyword_is_named_in_the_docs() -> None:
    code = prose_code()
    missing = [keyword for keyword in keywords() if not names_in_code(keyword.split(":")[1], code)]
    assert not missing, "keywords the docs never name (in code, e.g. `batch_size`):\n" + "\n".join(missing)
    assert "BiginClient:max_concurrency" in keywords() and "bulk_create:keep_outcomes" in keywords()


@pytest.mark.parametrize("name", ISSUE_NAMES)
def test_what_the_issue_named_is_in_the_prose(name: str) -> None:
    prose = "\n".join(FENCE.sub("", page_text(path)) for path in markdown_pages())
    prose += README.read_text(encoding="utf-8")
    assert f"`{name}" in prose or f"{name}`" in prose or f".{name}" in prose, (
        f"{name} is not named in docs/ or the README"
    )


def sections(text: str) -> dict[str, str]:
    """Each ``## heading`` of a page with its text, up to the next ``##``."""
    parts = re.split(r"^## +(.+?) *$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def options_of(parser: argparse.ArgumentParser) -> tuple[set[str], dict[str, argparse.ArgumentParser]]:
    options: set[str] = set()
    commands: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands.update(action.choices)
        elif not isinstance(action, argparse._HelpAction):
            options.update(action.option_strings)
    return options, commands


def connection_flags(command: str) -> set[str]:
    """The flags of the ``connection`` group (bigin_async.cli.main._connection_options) that
    ``bigin COMMAND`` (or its actions) takes: docs/cli.md lists them once, under Connection options."""
    from bigin_async.cli.main import build_parser

    flags: set[str] = set()
    parsers = [options_of(build_parser())[1][command]]
    while parsers:
        parser = parsers.pop()
        parsers.extend(options_of(parser)[1].values())
        for group in parser._action_groups:
            if group.title == "connection":
                flags.update(flag for action in group._group_actions for flag in action.option_strings)
    return flags


def cli_flags() -> dict[str, set[str]]:
    """Every flag of every ``bigin`` command, by the command's section (``bigin import``; an
    action's flags under its command, ``bigin attachments``). ``bigin emulator`` and ``bigin
    demo`` hand their arguments to parsers of their own, walked instead."""
    from bigin_async.cli import demo
    from bigin_async.cli.main import build_parser
    from bigin_emulator import cli as emulator_cli

    delegated = {"emulator": emulator_cli.build_parser("bigin emulator"), "demo": demo.build_parser()}
    flags: dict[str, set[str]] = {}
    _, commands = options_of(build_parser())
    for name, parser in commands.items():
        options, actions = options_of(delegated.get(name, parser))
        if name in delegated:
            own, _ = options_of(parser)
            options |= own
        for action in actions.values():
            options |= options_of(action)[0]
        flags[f"bigin {name}"] = options
    return flags


def test_every_cli_flag_is_in_its_commands_section() -> None:
    page = sections(CLI_PAGE.read_text(encoding="utf-8"))
    flags = cli_flags()
    assert {"--emulator", "--token-file", "--redis"} <= connection_flags("import")
    assert connection_flags("emulator") == set()
    missing = []
    for command, options in flags.items():
        shared = connection_flags(command.removeprefix("bigin "))
        if command not in page:
            missing.append(f"{command}: no '## {command}' section")
            continue
        for option in sorted(options):
            if names_in_code(option, page[command]):
                continue
            if option in shared and names_in_code(option, page.get("Connection options", "")):
                continue
            missing.append(f"{command} {option}")
    assert not missing, "flags docs/cli.md does not list under their command:\n" + "\n".join(missing)
    assert len(flags) >= 6 and flags["bigin import"] and flags["bigin export"] and flags["bigin emulator"]


def slug(heading: str) -> str:
    """The anchor mkdocs (python-markdown's toc) gives a heading; GitHub's agrees on ours."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", page_text(path) if path.suffix == ".md" else "")
    return {slug(match.group(2)) for match in HEADING.finditer(text)}


def test_every_relative_link_and_anchor_exists() -> None:
    broken = []
    for path in [README, *markdown_pages()]:
        text = FENCE.sub("", page_text(path))
        text = CODE_SPAN.sub("", text)
        for target in LINK.findall(text):
            if re.match(r"^[a-z][a-z+.-]*:", target):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and linked.is_file() and anchor not in anchors(linked):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
            elif path != README and file_part and DOCS not in linked.parents:
                broken.append(f"{path.relative_to(ROOT)}: {target} (outside docs/: the site cannot link it)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_every_page_is_in_the_site() -> None:
    config = MKDOCS_YML.read_text(encoding="utf-8")
    named = set(re.findall(r"([\w/.-]+\.md)\b", config))
    pages = {path.relative_to(DOCS).as_posix() for path in markdown_pages()}
    assert pages - named == set(), f"pages mkdocs.yml neither lists nor leaves out: {sorted(pages - named)}"
    assert named - pages == set(), f"mkdocs.yml names pages that do not exist: {sorted(named - pages)}"
    for snippet in ("features", "install", "quickstart", "configuration"):
        assert f'--8<-- "README.md:{snippet}"' in (DOCS / "index.md").read_text(encoding="utf-8")
    assert expand_snippets((DOCS / "index.md").read_text(encoding="utf-8")).count("```python") >= 2
