"""``--criteria`` for a Bulk Read job (search text to Zoho's JSON form); the results file's line numbers."""

from __future__ import annotations

from typing import Any

import pytest

from bigin_async import Field
from bigin_async.cli.common import UsageError
from bigin_async.cli.criteria_text import parse_criteria
from bigin_async.cli.importer import LineNumbers
from bigin_async.criteria import InvalidCriteriaError


def criteria_json(text: str) -> dict[str, Any]:
    """What a Bulk Read job is sent for ``bigin export --criteria TEXT``."""
    return parse_criteria(text).to_json()


def condition(name: str, comparator: str, value: Any) -> dict[str, Any]:
    return {"api_name": name, "comparator": comparator, "value": value}


def test_search_text_becomes_zohos_json_criteria() -> None:
    assert criteria_json(" (Mailing_City:equals:Paris) ") == condition("Mailing_City", "equal", "Paris")
    assert criteria_json("((Last_Name:starts_with:A)and(Email_Opt_Out:equals:false))") == {
        "group_operator": "and",
        "group": [condition("Last_Name", "starts_with", "A"), condition("Email_Opt_Out", "equal", "false")],
    }
    nested = "(((A:equals:1)and(B:equals:2))and(C:greater_than:3))or(D:in:x,y\\,z)"
    assert criteria_json(f"({nested})") == {
        "group_operator": "or",
        "group": [
            {
                "group_operator": "and",
                "group": [
                    condition("A", "equal", "1"),
                    condition("B", "equal", "2"),
                    condition("C", "greater_than", "3"),
                ],
            },
            condition("D", "in", ["x", "y,z"]),
        ],
    }
    assert criteria_json("(Amount:between:10,20)") == condition("Amount", "between", ["10", "20"])
    assert criteria_json("(Account_Name.id:equals:42)") == condition("Account_Name.id", "equal", "42")


def test_what_the_sdks_field_renders_parses_back_to_the_same_values() -> None:
    hostile = "a),(Email:equals:x\\y"
    text = str((Field("Email") == hostile) & Field("Tag").is_in(["p,q", "r"]))
    assert criteria_json(text) == {
        "group_operator": "and",
        "group": [condition("Email", "equal", hostile), condition("Tag", "in", ["p,q", "r"])],
    }


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("Email:equals:x", "expected '('"),
        ("(Email:equals:x", "expected ')'"),
        ("(Email:equals:)", "empty value"),
        ("(Email:equals:a(b)", "unescaped '('"),
        ("((A:equals:1)and(B:equals:2)or(C:equals:3))", "mixes and/or"),
        ("(A:equals:1)x", "unexpected text"),
        ("(:equals:1)", "field name"),
        ("(" * 40 + "A:equals:1" + ")" * 40, "nested too deeply"),
    ],
)
def test_broken_criteria_are_usage_errors_that_say_where(text: str, words: str) -> None:
    with pytest.raises(UsageError, match="--criteria") as error:
        parse_criteria(text)
    assert words in str(error.value)


@pytest.mark.parametrize("text", ["(Email:like:x)", "(Amount:between:1)"])
def test_what_the_job_form_cannot_say_is_refused_before_a_job_is_created(text: str) -> None:
    criteria = parse_criteria(text)
    assert str(criteria) == text  # through calls, the search gets the text as written
    with pytest.raises(InvalidCriteriaError):
        criteria.to_json()


def test_line_numbers_keep_marks_only_where_rows_skip_lines() -> None:
    lines = LineNumbers()
    assert lines.line(0) is None
    for index in range(1000):
        lines.add(index, index + 2)  # a header line, then a row a line
    lines.add(1000, 1005)  # a cell with newlines (or blank lines) before this row
    lines.add(1001, 1006)
    assert [lines.line(i) for i in (0, 999, 1000, 1001)] == [2, 1001, 1005, 1006]
    assert len(lines._rows) == 2  # two marks for 1,002 rows
