"""``bigin import``'s check of the file's columns against the module's fields, before any record.

Bigin drops a field it does not know without a word: a column ``E-mail`` (Bigin's field is
``Email``) imports contacts without their email, and an upsert on ``--unique Email`` that no
column provides matches nothing and inserts every row again. So the header (or, for JSON lines,
every key) is read against the org's field metadata first, and a name Bigin would not keep is a
usage error naming the nearest field names. The field aliases the SDK accepts on write
(``Company_Name`` → ``Account_Name``; see :mod:`bigin_async._field_aliases`) count as known.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bigin_async._field_aliases import to_bigin_names
from bigin_async.cli.common import UsageError
from bigin_async.cli.sources import ColumnMap
from bigin_async.models import FieldInfo

__all__ = ["ColumnCheck", "check_columns", "nearest_names"]

_SEPARATORS = re.compile(r"[\s_\-.]+")


def _squash(name: str) -> str:
    return _SEPARATORS.sub("", name).casefold()


def nearest_names(name: str, candidates: Sequence[str], limit: int = 3) -> list[str]:
    """The candidates a person most likely meant by ``name``: the same name but for case and
    separators (``email``, ``E-mail`` → ``Email``; ``First Name`` → ``First_Name``) first, then
    close spellings. Bigin's API names are case-sensitive, so a near miss is never taken as is."""
    same = [c for c in candidates if _squash(c) == _squash(name) and c != name]
    folded: dict[str, str] = {}
    for candidate in candidates:
        folded.setdefault(candidate.casefold(), candidate)
    close = [folded[c] for c in difflib.get_close_matches(name.casefold(), list(folded), n=limit, cutoff=0.6)]
    return [c for c in dict.fromkeys(same + close) if c != name][:limit]


def _suggest(name: str, candidates: Sequence[str]) -> str:
    near = nearest_names(name, candidates)
    return f" (did you mean {' or '.join(map(repr, near))}?)" if near else ""


def _wire_names(module: str, name: str, value: Any) -> list[str]:
    """The field(s) Bigin gets when a record holds ``name`` = ``value``, after the SDK's own
    translation of the field aliases (the same function every write goes through)."""
    wire = to_bigin_names(module, {name: value})
    return [key for key in wire if not key.startswith("$")] or [name]


@dataclass
class ColumnCheck:
    """What the check decided: the ``--unique`` fields as Bigin names them, the columns left out."""

    unique: list[str] | None
    ignored: list[str] = field(default_factory=list)
    checked: bool = True  # False: the field list could not be read, the names were not checked


@dataclass(frozen=True)
class _Target:
    column: str
    wire: str  # the Bigin field the column ends up in
    sub: str  # "id" for ``--map Col=Account_Name.id``; "" for a plain value
    mapped: bool  # named by --map (a typo there is never "ignored")


def _targets(
    module: str, columns: Sequence[str], mapping: ColumnMap, shaped_like_parent: bool
) -> list[_Target]:
    subs: dict[str, dict[str, str]] = {}
    plain: list[tuple[str, str]] = []
    for column in columns:
        target = mapping.targets.get(column, column)
        if target is None:
            continue  # --map COL= : left out on purpose
        base, dot, sub = target.partition(".")
        if dot:
            subs.setdefault(base, {})[column] = sub
        else:
            plain.append((column, base))
    found: list[_Target] = []
    for column, base in plain:
        # A JSON line may hold a {"module", "id"} parent (``Related_To``); a CSV cell is text.
        value: Any = {"module": module, "id": "0"} if shaped_like_parent else "x"
        found += [
            _Target(column, wire, "", column in mapping.targets) for wire in _wire_names(module, base, value)
        ]
    for base, columns_subs in subs.items():
        value = {sub: "x" for sub in columns_subs.values()}
        for wire in _wire_names(module, base, value):
            found += [_Target(column, wire, sub, True) for column, sub in columns_subs.items()]
    return found


def _check_collisions(targets: Sequence[_Target], module: str) -> None:
    """Two columns into one field: the SDK would keep one value and drop the other silently."""
    by_field: dict[str, list[_Target]] = {}
    for target in targets:
        by_field.setdefault(target.wire, []).append(target)
    problems = []
    for wire, group in by_field.items():
        plain = [t for t in group if not t.sub]
        subs = [t.sub for t in group if t.sub]
        if len(plain) > 1 or (plain and subs) or len(subs) != len(set(subs)):
            columns = " and ".join(repr(t.column) for t in group)
            problems.append(f"columns {columns} go into one field of {module}, {wire!r}")
    if problems:
        raise UsageError(
            f"{'; '.join(problems)}: keep one of them, or leave the others out with --map 'COL='"
        )


def check_columns(
    module: str,
    columns: Sequence[str],
    mapping: ColumnMap,
    fields: Sequence[FieldInfo] | None,
    *,
    unique: Sequence[str] | None = None,
    mode: str = "create",
    ignore_unknown: bool = False,
    jsonl: bool = False,
) -> ColumnCheck:
    """Refuse columns (and ``--map`` targets, and ``--unique`` fields) that are not fields of
    ``module``; with ``ignore_unknown`` leave unknown columns out instead (the mapping is changed
    so the rows are read without them). ``fields`` None: the metadata could not be read.

    ``jsonl``: ``columns`` are the keys seen on any line (not one header), so two of them going
    into one field is not refused: different lines may use different names.
    """
    known: list[str] | None = None
    if fields is not None:
        known = [f.api_name for f in fields if f.api_name]
        if "id" not in known:
            known.append("id")  # the record id: not in settings/fields, but what an update is keyed on
    wire_unique = _unique_fields(module, unique or (), known)
    targets = _targets(module, columns, mapping, shaped_like_parent=jsonl)
    result = ColumnCheck(unique=None, checked=known is not None)
    if known is not None:
        known_set = set(known)
        unknown = [t for t in targets if t.wire not in known_set and not t.wire.startswith("$")]
        mistyped = [t for t in unknown if t.mapped]
        if mistyped:
            raise UsageError(
                "; ".join(
                    f"--map {t.column!r}: {module} has no field {t.wire!r}{_suggest(t.wire, known)}"
                    for t in mistyped
                )
                + " (Bigin's API names are case-sensitive)"
            )
        if unknown and not ignore_unknown:
            names = ", ".join(f"{t.column!r}{_suggest(t.column, known)}" for t in unknown)
            raise UsageError(
                f"{module} has no field named {names}. Bigin drops fields it does not know without a word: "
                "rename the column to the field's API name (case-sensitive), --map 'COLUMN=Field_Name', "
                "or pass --ignore-unknown-columns to leave such columns out"
            )
        for target in unknown:
            mapping.targets[target.column] = None
        result.ignored = list(dict.fromkeys(t.column for t in unknown))
        targets = [t for t in targets if t not in unknown]
    if not jsonl:
        _check_collisions(targets, module)
    free = [c for c in columns if c not in mapping.targets or c in result.ignored]  # columns not --map'ped
    _check_provided(wire_unique, targets, columns, free)
    result.unique = list(dict.fromkeys(wire_unique.values())) or None
    if mode == "update" and not any(t.wire == "id" and not t.sub for t in targets):
        raise UsageError(
            "--mode update finds each record by its id: the file needs an 'id' column (or --map 'COL=id')"
        )
    return result


def _unique_fields(module: str, unique: Sequence[str], known: Sequence[str] | None) -> dict[str, str]:
    """``--unique`` names → Bigin's names (``Company_Name`` → ``Account_Name``), each a field of the
    module: Bigin's API names are case-sensitive, so ``email`` is not ``Email``."""
    wire: dict[str, str] = {}
    for name in unique:
        wire[name] = _wire_names(module, name, "x")[0]
        if known is not None and wire[name] not in known:
            raise UsageError(
                f"--unique {name!r}: {module} has no such field{_suggest(name, known)} "
                "(Bigin's API names are case-sensitive)"
            )
    return wire


def _check_provided(
    unique: dict[str, str], targets: Sequence[_Target], columns: Sequence[str], free: Sequence[str]
) -> None:
    """Each ``--unique`` field must be one the rows carry: an upsert on a field the records lack
    matches nothing, and every row is inserted again."""
    provided = {t.wire for t in targets if not t.sub}
    for name, wire in unique.items():
        if wire in provided:
            continue
        near = nearest_names(wire, free) or nearest_names(name, free)
        hint = f"; to use {near[0]!r}, pass --map '{near[0]}={wire}'" if near else ""
        raise UsageError(
            f"--unique {name!r}: no column of the file provides {wire!r}, so every row would be inserted "
            f"again{hint} (columns: {', '.join(map(repr, columns))})"
        )
