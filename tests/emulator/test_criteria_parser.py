"""The criteria parser on its own: grammar, exact unescaping, errors, and what ``matches`` means."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bigin_emulator.ops.criteria import Condition, CriteriaError, Group, matches, parse_criteria


def escape(value: str) -> str:
    return "".join("\\" + c if c in "(),\\" else c for c in value)


def test_single_condition() -> None:
    assert parse_criteria("(Email:equals:a@b.c)") == Condition("Email", "equals", ("a@b.c",), "a@b.c")


def test_groups_nest_and_flatten_per_parenthesis() -> None:
    a = Condition("A", "equals", ("1",), "1")
    b = Condition("B", "equals", ("2",), "2")
    c = Condition("C", "equals", ("3",), "3")
    assert parse_criteria("((A:equals:1)and(B:equals:2))") == Group("and", (a, b))
    assert parse_criteria("(((A:equals:1)and(B:equals:2))or(C:equals:3))") == Group(
        "or", (Group("and", (a, b)), c)
    )
    assert parse_criteria("((A:equals:1) AND (B:equals:2) and (C:equals:3))") == Group("and", (a, b, c))
    assert parse_criteria("(A:equals:1)or(B:equals:2)") == Group("or", (a, b))


def test_values_split_at_unescaped_commas_only() -> None:
    node = parse_criteria(r"(Stage:in:a\,b,c,d\\)")
    assert node == Condition("Stage", "in", ("a,b", "c", "d\\"), "a,b,c,d\\")


def test_unknown_escape_keeps_the_backslash() -> None:
    node = parse_criteria(r"(Name:equals:a\b)")
    assert isinstance(node, Condition) and node.value == "a\\b"


def test_value_text_is_kept_verbatim() -> None:
    node = parse_criteria("(Name:equals:  spaced: value  )")
    assert isinstance(node, Condition) and node.value == "  spaced: value  "


@given(st.text(min_size=1))
def test_any_escaped_value_parses_back_to_itself(value: str) -> None:
    node = parse_criteria(f"(Last_Name:equals:{escape(value)})")
    assert node == Condition("Last_Name", "equals", (value,), value)


@given(st.lists(st.text(min_size=1), min_size=1, max_size=5))
def test_any_escaped_list_parses_back_to_its_items(values: list[str]) -> None:
    node = parse_criteria(f"(Stage:in:{','.join(escape(v) for v in values)})")
    assert isinstance(node, Condition) and node.values == tuple(values)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "()",
        "(A:equals)",
        "(A:equals:1",
        "(A:equals:1))",
        "((A:equals:1)and)",
        "((A:equals:1)xor(B:equals:2))",
        "(A:gt:1)",
        "(A.b.c:equals:1)",
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(CriteriaError):
        parse_criteria(text)


RECORD: dict[str, Any] = {
    "id": "5545000000001000005",
    "Last_Name": "Smith",
    "Amount": 2500.5,
    "Probability": 50,
    "Email_Opt_Out": False,
    "Closing_Date": "2026-03-15",
    "Created_Time": "2026-01-01T10:00:00+02:00",
    "Account_Name": {"name": "Acme", "id": "5545000000001000001"},
    "Tag": [{"name": "VIP", "id": "1", "color_code": None}],
    "Phone": None,
}


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("(Last_Name:equals:SMITH)", True),
        ("(Last_Name:equals:Smit)", False),
        ("(Last_Name:not_equal:Jones)", True),
        ("(Last_Name:equals:Jones,Smith)", True),
        ("(Last_Name:not_equal:Jones,Smith)", False),
        ("(Amount:greater_than:2500)", True),
        ("(Amount:less_equal:2500.5)", True),
        ("(Probability:between:10,50)", True),
        ("(Probability:equals:50.0)", True),
        ("(Email_Opt_Out:equals:false)", True),
        ("(Closing_Date:between:2026-03-01,2026-03-31)", True),
        ("(Closing_Date:less_than:2026-03-15)", False),
        ("(Created_Time:less_than:2026-01-01T09:00:00+00:00)", True),
        ("(Account_Name:equals:acme)", True),
        ("(Account_Name.id:equals:5545000000001000001)", True),
        ("(Account_Name.name:starts_with:ac)", True),
        ("(Tag:equals:vip)", True),
        ("(Phone:equals:${EMPTY})", True),
        ("(Phone:not_equal:x)", True),
        ("(Last_Name:greater_than:Jones)", True),
        ("(Amount:greater_than:abc)", False),
        ("(id:greater_than:5545000000001000004)", True),
        ("(id:greater_than:5545000000001000005)", False),
    ],
)
def test_matches(criteria: str, expected: bool) -> None:
    assert matches(parse_criteria(criteria), RECORD) is expected
