"""Criteria builder: wire format, escaping, refusals, and round trips through a test-side parser.

The parser below is deliberately independent of the builder (and minimal): it reads Zoho's
``(Field:op:value)`` / ``((A)and(B))`` grammar and undoes backslash escapes, so the property tests
check that no value, however hostile, can change the structure of the query.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import reduce
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bigin_async.criteria import (
    Condition,
    Criteria,
    Field,
    Group,
    InvalidCriteriaError,
    criteria_to_str,
    escape_value,
)

# --- a minimal independent parser ---------------------------------------------------------------

Tree = tuple[Any, ...]


def _split_unescaped(text: str, separator: str | None) -> list[str]:
    """Split on unescaped separators (if any) and undo every backslash escape in the pieces."""
    pieces, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            assert index + 1 < len(text), "dangling backslash"
            current.append(text[index + 1])
            index += 2
            continue
        assert char not in "()", f"unescaped {char!r} inside a value"
        if char == separator:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    pieces.append("".join(current))
    return pieces


def parse(text: str) -> Tree:
    tree, end = _parse_at(text, 0)
    assert end == len(text), f"trailing text {text[end:]!r}"
    return tree


def _parse_at(text: str, start: int) -> tuple[Tree, int]:
    assert text[start] == "(", f"expected ( at {start} in {text!r}"
    if text[start + 1] == "(":
        left, index = _parse_at(text, start + 1)
        op_end = index
        while text[op_end].isalpha():
            op_end += 1
        operator = text[index:op_end]
        assert operator in ("and", "or"), operator
        right, index = _parse_at(text, op_end)
        assert text[index] == ")"
        return (operator, left, right), index + 1
    index = start + 1
    while text[index] != ")":
        index += 2 if text[index] == "\\" else 1
    field, operator, raw_value = text[start + 1 : index].split(":", 2)
    values = _split_unescaped(raw_value, "," if operator in ("in", "between") else None)
    return ("leaf", field, operator, tuple(values)), index + 1


def expected_tree(criteria: Criteria, values: dict[int, tuple[str, ...]]) -> Tree:
    """What ``parse`` must return for a criteria built from the given raw values."""
    if isinstance(criteria, Condition):
        return ("leaf", criteria.field, criteria.operator, values[id(criteria)])
    assert isinstance(criteria, Group)
    trees = [expected_tree(part, values) for part in criteria.parts]
    return reduce(lambda left, right: (criteria.operator, left, right), trees)


# --- wire format --------------------------------------------------------------------------------


def test_operators_render_in_zoho_format() -> None:
    assert str(Field("Email") == "a@b.c") == "(Email:equals:a@b.c)"
    assert str(Field("Email") != "a@b.c") == "(Email:not_equal:a@b.c)"
    assert str(Field("Amount") > 1000) == "(Amount:greater_than:1000)"
    assert str(Field("Amount") >= 1000) == "(Amount:greater_equal:1000)"
    assert str(Field("Amount") < 10.5) == "(Amount:less_than:10.5)"
    assert str(Field("Amount") <= Decimal("10.50")) == "(Amount:less_equal:10.50)"
    assert Field("Stage").is_in(["Won", "Lost"]).render() == "(Stage:in:Won,Lost)"
    assert str(Field("Product_Name").starts_with("Nango")) == "(Product_Name:starts_with:Nango)"
    assert str(Field("Amount").between(1, 5)) == "(Amount:between:1,5)"
    assert str(Field("Last_Name").equals("Doe")) == "(Last_Name:equals:Doe)"
    assert str(Field("Last_Name").not_equal("Doe")) == "(Last_Name:not_equal:Doe)"
    assert str(Field("Owner.id") == 7618134000000627001) == "(Owner.id:equals:7618134000000627001)"
    assert str(Field("$approval_state") == "approved") == "($approval_state:equals:approved)"


def test_combinations_use_zoho_grouping() -> None:
    a, b, c = Field("A") == 1, Field("B") == 2, Field("C") == 3
    assert str(a & b) == "((A:equals:1)and(B:equals:2))"
    assert str(a | b) == "((A:equals:1)or(B:equals:2))"
    assert str(a & b & c) == "(((A:equals:1)and(B:equals:2))and(C:equals:3))"
    assert str((a & b) | c) == "(((A:equals:1)and(B:equals:2))or(C:equals:3))"
    assert str(a & (b | c)) == "((A:equals:1)and((B:equals:2)or(C:equals:3)))"
    assert parse(str(a & (b | c))) == ("and", parse(str(a)), ("or", parse(str(b)), parse(str(c))))


def test_long_chains_render_without_recursion() -> None:
    conditions: list[Criteria] = [Field("Id") == n for n in range(3000)]
    chained = reduce(lambda left, right: left | right, conditions)
    text = chained.render()
    assert text.startswith("(" * 3000) and text.endswith("or(Id:equals:2999))")
    assert criteria_to_str(text) == text


def test_values_render_in_zoho_formats() -> None:
    nairobi = timezone(timedelta(hours=3))
    assert str(Field("Email_Opt_Out") == True) == "(Email_Opt_Out:equals:true)"  # noqa: E712
    assert str(Field("Email_Opt_Out") == False) == "(Email_Opt_Out:equals:false)"  # noqa: E712
    assert str(Field("Closing_Date") == date(2025, 2, 28)) == "(Closing_Date:equals:2025-02-28)"
    moment = datetime(2026, 10, 9, 22, 11, 19, 500, tzinfo=nairobi)
    assert str(Field("Created_Time") > moment) == "(Created_Time:greater_than:2026-10-09T22:11:19+03:00)"
    window = Field("Created_Time").between(date(2025, 1, 1), date(2025, 1, 31))
    assert str(window) == "(Created_Time:between:2025-01-01,2025-01-31)"
    assert str(Field("Amount") > 1e-05) == "(Amount:greater_than:0.00001)"
    assert str(Field("Amount") > 1e20) == "(Amount:greater_than:100000000000000000000)"

    class Stage(enum.Enum):
        WON = "Closed Won"

    assert str(Field("Stage") == Stage.WON) == "(Stage:equals:Closed Won)"


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("a),(Email:equals:x", "a\\)\\,\\(Email:equals:x"),
        ("back\\slash", "back\\\\slash"),
        ("a,b", "a\\,b"),
        ("(x)", "\\(x\\)"),
        ("trailing\\", "trailing\\\\"),
        ("a:b:c", "a:b:c"),
    ],
)
def test_hostile_values_are_escaped(value: str, rendered: str) -> None:
    condition = Field("Last_Name") == value
    assert str(condition) == f"(Last_Name:equals:{rendered})"
    assert parse(str(condition)) == ("leaf", "Last_Name", "equals", (value,))
    assert escape_value(value) == rendered


def test_in_list_values_keep_their_commas() -> None:
    condition = Field("Stage").is_in(["Won, finally", "Lost)", 3])
    assert str(condition) == "(Stage:in:Won\\, finally,Lost\\),3)"
    assert parse(str(condition)) == ("leaf", "Stage", "in", ("Won, finally", "Lost)", "3"))


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "Email)", "First Name", "Email:equals", "a,b", "Naïve", "(x", "a\\b", "a..b", ".a", "a.", "a.b.c"],
)
def test_bad_field_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidCriteriaError):
        Field(name)


def test_bad_values_and_lists_are_refused() -> None:
    with pytest.raises(InvalidCriteriaError, match="at least one"):
        Field("Stage").is_in([])
    with pytest.raises(InvalidCriteriaError, match="not a single string"):
        Field("Stage").is_in("Won")
    with pytest.raises(InvalidCriteriaError, match="empty string"):
        Field("Email") == ""  # noqa: B015
    with pytest.raises(InvalidCriteriaError, match="empty string"):
        Field("Stage").is_in(["Won", ""])
    with pytest.raises(InvalidCriteriaError):
        Field("Email") == None  # noqa: B015, E711
    with pytest.raises(InvalidCriteriaError):
        Field("Email") == object()  # noqa: B015
    with pytest.raises(InvalidCriteriaError):
        Field("Amount") > float("nan")  # noqa: B015
    with pytest.raises(InvalidCriteriaError, match="naive datetime"):
        Field("Created_Time") > datetime(2025, 1, 1)  # noqa: B015
    with pytest.raises(InvalidCriteriaError):
        (Field("A") == 1) & "(B:equals:2)"  # type: ignore[operator]  # noqa: B018
    assert issubclass(InvalidCriteriaError, ValueError)


def test_python_and_or_on_criteria_fail_loudly() -> None:
    with pytest.raises(TypeError, match="&"):
        bool(Field("A") == 1)
    with pytest.raises(TypeError):
        (Field("A") == 1) and (Field("B") == 2)  # noqa: B018


def test_field_is_not_hashable() -> None:
    with pytest.raises(TypeError):
        hash(Field("Email"))
    assert (Field("A") == 1) == (Field("A") == 1)  # conditions compare by wire form
    assert len({Field("A") == 1, Field("A") == 1}) == 1


def test_criteria_to_str_accepts_built_and_raw_criteria() -> None:
    assert criteria_to_str(Field("Email") == "a@b.c") == "(Email:equals:a@b.c)"
    assert criteria_to_str("  ((A:equals:1)and(B:equals:2)) ") == "((A:equals:1)and(B:equals:2))"
    assert criteria_to_str("(Name:equals:a\\))") == "(Name:equals:a\\))"
    for bad in ["", "   ", "(A:equals:1", "A:equals:1)", ")(", "(Name:equals:a\\)", "(A:equals:b\\"]:
        with pytest.raises(InvalidCriteriaError):
            criteria_to_str(bad)
    with pytest.raises(InvalidCriteriaError):
        criteria_to_str(42)  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------

FIELD_NAMES = st.from_regex(r"[A-Za-z0-9_$]{1,20}(\.[A-Za-z0-9_$]{1,8})?", fullmatch=True)
VALUES = st.text(min_size=1)  # an empty value is refused (see test_bad_values_and_lists_are_refused)
OPERATORS = ["equals", "not_equal", "starts_with", "greater_than", "greater_equal", "less_than", "less_equal"]


@given(VALUES)
def test_any_text_value_unescapes_to_itself(value: str) -> None:
    text = str(Field("Description") == value)
    assert parse(text) == ("leaf", "Description", "equals", (value,))
    assert criteria_to_str(text) == text


@given(st.lists(VALUES, min_size=1, max_size=6))
def test_any_in_list_unescapes_to_itself(values: list[str]) -> None:
    text = str(Field("Stage").is_in(values))
    assert parse(text) == ("leaf", "Stage", "in", tuple(values))


@st.composite
def criteria_trees(draw: st.DrawFn) -> tuple[Criteria, dict[int, tuple[str, ...]]]:
    """A random criteria tree plus the raw value(s) each condition was built from."""
    values: dict[int, tuple[str, ...]] = {}

    def leaf() -> Criteria:
        field = Field(draw(FIELD_NAMES))
        if draw(st.booleans()):
            raw = tuple(draw(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3)))
            condition = field.is_in(raw)
        else:
            raw = (draw(st.text(min_size=1, max_size=12)),)
            condition = getattr(field, draw(st.sampled_from(OPERATORS)))(raw[0])
        values[id(condition)] = raw
        return condition

    def tree(depth: int) -> Criteria:
        if depth == 0 or draw(st.booleans()):
            return leaf()
        left, right = tree(depth - 1), tree(depth - 1)
        return left & right if draw(st.booleans()) else left | right

    return tree(4), values


@given(criteria_trees())
def test_any_tree_parses_back_to_its_structure_and_values(
    built: tuple[Criteria, dict[int, tuple[str, ...]]],
) -> None:
    criteria, values = built
    text = criteria_to_str(criteria)
    assert parse(text) == expected_tree(criteria, values)


def _emulator_tree(criteria: Criteria, values: dict[int, tuple[str, ...]], parser: Any) -> Any:
    """The node the emulator's parser must build for a criteria made from these raw values."""
    if isinstance(criteria, Condition):
        raw = values[id(criteria)]
        whole = ",".join(raw) if criteria.operator in ("in", "between") else raw[0]
        return parser.Condition(criteria.field, criteria.operator, raw, whole)
    assert isinstance(criteria, Group)
    nodes = [_emulator_tree(part, values, parser) for part in criteria.parts]
    return reduce(lambda left, right: parser.Group(criteria.operator, (left, right)), nodes)


@given(criteria_trees())
def test_any_tree_round_trips_through_the_emulator_parser(
    built: tuple[Criteria, dict[int, tuple[str, ...]]],
) -> None:
    """Cross-check against the emulator's own parser, written independently of the builder."""
    parser = pytest.importorskip("bigin_emulator.ops.criteria")
    criteria, values = built
    assert parser.parse_criteria(criteria_to_str(criteria)) == _emulator_tree(criteria, values, parser)


@pytest.mark.parametrize("value", ["a),(Email:equals:x", "back\\slash", "a,b", "trailing\\", "x\\(y"])
def test_hostile_values_survive_the_emulator_parser(value: str) -> None:
    parser = pytest.importorskip("bigin_emulator.ops.criteria")
    node = parser.parse_criteria(str((Field("Email") == value) & (Field("Stage").is_in([value, "b"]))))
    assert node == parser.Group(
        "and",
        (
            parser.Condition("Email", "equals", (value,), value),
            parser.Condition("Stage", "in", (value, "b"), f"{value},b"),
        ),
    )
