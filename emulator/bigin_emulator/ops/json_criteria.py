"""Zoho's JSON criteria form (Bulk Read's ``query.criteria``), checked and turned into a record predicate.

One condition is ``{"api_name": "Last_Name", "comparator": "equal", "value": "Ng"}``; a group is
``{"group_operator": "and" | "or", "group": [criteria, ...]}``, nestable. Comparators: equal,
not_equal, in, not_in (a list of values), less_than, less_equal, greater_than, greater_equal,
between (``[low, high]``), contains, not_contains, starts_with, ends_with; ``"${EMPTY}"`` stands
for an empty value (with equal, not_equal, in and not_in).

The comparisons are the ones search criteria and COQL use (``ops.criteria.matches`` over
``ops.comparisons``): equal, not_equal, in, the orderings and between become the very same
``Condition`` the text criteria parse into, so a record matches a JSON criterion exactly when it
matches the text one. Only what the text form lacks is added here: not_in (not in), contains,
not_contains and ends_with (case-insensitive text tests, like starts_with).

Which comparators a field takes follows its type, as Zoho lists them per type: text-like fields
the text tests, numbers and dates the orderings, booleans equal/not_equal, lookups equal,
not_equal, in and not_in (by the linked record's id). A field the module does not have, a
comparator that is not Zoho's or not for that field's type, or a value of the wrong shape is
refused with ``INVALID_DATA`` naming where it is (``details.param``, and ``api_name``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bigin_emulator.ops.comparisons import EMPTY, candidates, order_key, parse_iso_datetime
from bigin_emulator.ops.criteria import Condition, matches
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.state.metadata import FieldSpec, ModuleSpec
from bigin_emulator.state.store import Record

__all__ = ["JSON_COMPARATORS", "MAX_DEPTH", "Predicate", "json_criteria_predicate"]

Predicate = Callable[[Record], bool]

_LOOKUP = frozenset({"equal", "not_equal", "in", "not_in"})
_TEXT = _LOOKUP | {"contains", "not_contains", "starts_with", "ends_with"}
_ORDERED = _LOOKUP | {"less_than", "less_equal", "greater_than", "greater_equal", "between"}
_BOOLEAN = frozenset({"equal", "not_equal"})

JSON_COMPARATORS: frozenset[str] = _TEXT | _ORDERED

# The comparators each field type takes; a type not listed (and a field the org added) takes any.
_BY_TYPE: dict[str, frozenset[str]] = {
    **dict.fromkeys(("text", "email", "phone", "website", "textarea", "picklist"), _TEXT),
    **dict.fromkeys(("multiselectpicklist", "tag"), _LOOKUP | {"contains", "not_contains"}),
    **dict.fromkeys(("integer", "bigint", "double", "currency", "percent", "date", "datetime"), _ORDERED),
    **dict.fromkeys(("lookup", "ownerlookup"), _LOOKUP),
    "boolean": _BOOLEAN,
}

# Comparator → the text criteria's operator that means the same (``ops.criteria.OPERATORS``).
_SAME_AS_TEXT = {
    "equal": "equals",
    "not_equal": "not_equal",
    "in": "in",
    "starts_with": "starts_with",
    "less_than": "less_than",
    "less_equal": "less_equal",
    "greater_than": "greater_than",
    "greater_equal": "greater_equal",
    "between": "between",
}
_LISTED = frozenset({"in", "not_in"})
_TAKES_EMPTY = frozenset({"equal", "not_equal", "in", "not_in"})

MAX_DEPTH = 16  # nesting of groups: deeper is refused (a body cannot make the check recurse unbounded)


def _refuse(message: str, param: str, api_name: str | None = None) -> ApiError:
    details: dict[str, Any] = {"param": param}
    if api_name is not None:
        details["api_name"] = api_name
    return ApiError(400, "INVALID_DATA", message, details)


def _text(value: Any, param: str) -> str:
    """A JSON value as the text the comparisons take: numbers as written, booleans true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if not value:
            raise _refuse(f"an empty value at {param}: write {EMPTY} for an empty field", param)
        return value
    if isinstance(value, int | float):
        return repr(value)
    raise _refuse(f"the value at {param} must be a string, a number or a boolean", param)


def _values(comparator: str, value: Any, param: str) -> tuple[str, ...]:
    if comparator in _LISTED or comparator == "between":
        if not isinstance(value, list) or not value:
            raise _refuse(f"{comparator} takes a non-empty list of values at {param}", param)
        if comparator == "between" and len(value) != 2:
            raise _refuse(f"between takes [low, high] at {param}, got {len(value)} values", param)
        values = tuple(_text(item, f"{param}[{i}]") for i, item in enumerate(value))
    else:
        values = (_text(value, param),)
    if EMPTY in values and comparator not in _TAKES_EMPTY:
        raise _refuse(f"{EMPTY} is for equal, not_equal, in and not_in, not {comparator}", param)
    return values


_NUMBER_TYPES = frozenset({"integer", "bigint", "double", "currency", "percent"})


def _reads_as(data_type: str | None, text: str) -> bool:
    """Whether a criteria value is one of the field's type, as Zoho checks it (a 400 otherwise):
    a number for a number field, ``YYYY-MM-DD`` for a date, ISO 8601 with its offset for a datetime."""
    if text == EMPTY or data_type not in (*_NUMBER_TYPES, "date", "datetime"):
        return True
    key = order_key(text)
    if data_type in _NUMBER_TYPES:
        return key is not None and key[0] == 0
    if key is None or key[0] != 1 or (len(text) == 10) != (data_type == "date"):
        return False
    return data_type == "date" or parse_iso_datetime(text).tzinfo is not None


def _field(
    spec: ModuleSpec, custom: Mapping[str, None], name: Any, param: str
) -> tuple[str, FieldSpec | None]:
    """The field a condition names, as stored (an alias mapped), with its spec when the module has one."""
    if not isinstance(name, str) or not name:
        raise _refuse(f"api_name at {param} must name a field", param)
    head, dot, tail = name.partition(".")
    canonical = spec.aliases.get(head, head)
    field = spec.by_name.get(canonical)
    if canonical != "id" and field is None and canonical not in custom:
        raise _refuse(f"the field {name!r} is not a field of {spec.api_name}", param, name)
    if dot and (field is None or field.lookup_module is None or not tail):
        raise _refuse(f"{name!r}: only a lookup field has parts (Account_Name.id)", param, name)
    return canonical + dot + tail, None if dot else field


def _contains(field: str, values: tuple[str, ...]) -> Predicate:
    wanted = [v.casefold() for v in values]
    return lambda record: any(
        isinstance(s, str) and any(w in s.casefold() for w in wanted) for s in candidates(record, field)
    )


def _ends_with(field: str, values: tuple[str, ...]) -> Predicate:
    wanted = tuple(v.casefold() for v in values)
    return lambda record: any(
        isinstance(s, str) and s.casefold().endswith(wanted) for s in candidates(record, field)
    )


def _not(predicate: Predicate) -> Predicate:
    return lambda record: not predicate(record)


def _condition(spec: ModuleSpec, custom: Mapping[str, None], raw: Mapping[str, Any], param: str) -> Predicate:
    for key in ("api_name", "comparator", "value"):
        if key not in raw:
            raise _refuse(
                f"a condition needs api_name, comparator and value: {key} is missing", f"{param}.{key}"
            )
    name = raw["api_name"]
    field, field_spec = _field(spec, custom, name, f"{param}.api_name")
    comparator = raw["comparator"]
    if not isinstance(comparator, str) or comparator not in JSON_COMPARATORS:
        raise _refuse(
            f"unknown comparator {comparator!r}; Zoho's are {', '.join(sorted(JSON_COMPARATORS))}",
            f"{param}.comparator",
            str(name),
        )
    data_type = field_spec.data_type if field_spec is not None else None
    allowed = _BY_TYPE.get(data_type) if data_type is not None else None
    if allowed is not None and comparator not in allowed:
        raise _refuse(
            f"{comparator} does not apply to {name} (a {data_type} field)", f"{param}.comparator", str(name)
        )
    values = _values(comparator, raw["value"], f"{param}.value")
    wrong = [value for value in values if not _reads_as(data_type, value)]
    if wrong:
        raise _refuse(
            f"{wrong[0]!r} is not a value of {name} (a {data_type} field)", f"{param}.value", str(name)
        )
    if comparator == "not_in":
        condition = Condition(field, "in", values, ",".join(values))
        return _not(lambda record: matches(condition, record))
    if comparator in _SAME_AS_TEXT:
        condition = Condition(field, _SAME_AS_TEXT[comparator], values, ",".join(values))
        return lambda record: matches(condition, record)
    if comparator == "ends_with":
        return _ends_with(field, values)
    found = _contains(field, values)
    return found if comparator == "contains" else _not(found)


def _node(spec: ModuleSpec, custom: Mapping[str, None], raw: Any, param: str, depth: int) -> Predicate:
    if not isinstance(raw, Mapping):
        raise _refuse(f"the criteria at {param} must be an object", param)
    if "group" not in raw and "group_operator" not in raw:
        return _condition(spec, custom, raw, param)
    if depth >= MAX_DEPTH:
        raise _refuse(f"criteria groups nest at most {MAX_DEPTH} deep", param)
    operator = raw.get("group_operator")
    if not isinstance(operator, str) or operator.lower() not in ("and", "or"):
        raise _refuse(f"group_operator at {param} must be 'and' or 'or'", f"{param}.group_operator")
    group = raw.get("group")
    if not isinstance(group, Sequence) or isinstance(group, str) or not group:
        raise _refuse(f"group at {param} must be a non-empty list of criteria", f"{param}.group")
    children = [_node(spec, custom, child, f"{param}.group[{i}]", depth + 1) for i, child in enumerate(group)]
    if operator.lower() == "and":
        return lambda record: all(child(record) for child in children)
    return lambda record: any(child(record) for child in children)


def json_criteria_predicate(spec: ModuleSpec, custom_fields: Mapping[str, None], criteria: Any) -> Predicate:
    """The predicate of a JSON criteria on ``spec``'s records; ``ApiError`` (400 INVALID_DATA) if malformed.

    ``custom_fields`` are the fields the org added to the module (the table's), which criteria may
    name too. ``equal`` is exact (case-insensitive): a Bulk Read filters the records themselves,
    not the lagging, word-matching search index the ``loose_equals`` switch is about.
    """
    return _node(spec, custom_fields, criteria, "criteria", 0)
