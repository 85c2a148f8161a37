"""Criteria in Zoho's JSON form (Bulk Read): every operator, nesting, typed values, bad shapes refused."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from bigin_async.criteria import (
    JSON_COMPARATORS,
    MAX_JSON_CRITERIA_DEPTH,
    Condition,
    Criteria,
    Field,
    InvalidCriteriaError,
    criteria_to_json,
    json_value,
)


class Stage(enum.Enum):
    WON = "Closed Won"


def cond(name: Any, comparator: str, value: Any) -> dict[str, Any]:
    return {"api_name": name, "comparator": comparator, "value": value}


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (Field("Email") == "a@b.c", cond("Email", "equal", "a@b.c")),
        (Field("Email").equals("a@b.c"), cond("Email", "equal", "a@b.c")),
        (Field("Email") != "a@b.c", cond("Email", "not_equal", "a@b.c")),
        (Field("Email").not_equal("x"), cond("Email", "not_equal", "x")),
        (Field("Last_Name").starts_with("Sm"), cond("Last_Name", "starts_with", "Sm")),
        (Field("Amount") > 10, cond("Amount", "greater_than", 10)),
        (Field("Amount").greater_than(10), cond("Amount", "greater_than", 10)),
        (Field("Amount") >= 10.5, cond("Amount", "greater_equal", 10.5)),
        (Field("Amount").greater_equal(1), cond("Amount", "greater_equal", 1)),
        (Field("Amount") < 3, cond("Amount", "less_than", 3)),
        (Field("Amount").less_than(3), cond("Amount", "less_than", 3)),
        (Field("Amount") <= 3, cond("Amount", "less_equal", 3)),
        (Field("Amount").less_equal(3), cond("Amount", "less_equal", 3)),
        (Field("Stage").is_in(["Won", "Lost"]), cond("Stage", "in", ["Won", "Lost"])),
        (Field("Amount").between(1, 9), cond("Amount", "between", [1, 9])),
    ],
)
def test_every_operator_of_the_builder_has_its_json_comparator(
    built: Criteria, expected: dict[str, Any]
) -> None:
    assert built.to_json() == expected
    assert criteria_to_json(built) == expected
    assert expected["comparator"] in JSON_COMPARATORS


def test_values_keep_their_json_types() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert (Field("Amount") == 12).to_json()["value"] == 12
    assert (Field("Amount") == 12.25).to_json()["value"] == 12.25
    assert (Field("Amount") == Decimal("12.50")).to_json()["value"] == 12.5
    assert (Field("Amount") == Decimal("1E+3")).to_json()["value"] == 1000
    assert type((Field("Amount") == Decimal("1E+3")).to_json()["value"]) is int
    assert (Field("Active") == True).to_json()["value"] is True  # noqa: E712 (the builder's ==)
    assert (Field("Closing_Date") == date(2026, 1, 2)).to_json()["value"] == "2026-01-02"
    assert (Field("Created_Time") > moment).to_json()["value"] == "2026-03-04T05:06:07+05:30"
    assert (Field("Stage") == Stage.WON).to_json()["value"] == "Closed Won"
    between = Field("Closing_Date").between(date(2026, 1, 1), date(2026, 2, 1)).to_json()
    assert between["value"] == ["2026-01-01", "2026-02-01"]
    mixed = Field("Amount").is_in([1, 2.5, Decimal("3")]).to_json()["value"]
    assert mixed == [1, 2.5, 3] and [type(v) for v in mixed] == [int, float, int]
    # The JSON form is valid JSON as is: no Decimal, date or Enum left in it.
    json.dumps(mixed, allow_nan=False)


def test_text_is_not_escaped_in_the_json_form() -> None:
    """Escaping belongs to the string form; JSON quotes values itself."""
    hostile = "a),(Email:equals:x\\"
    assert (Field("Email") == hostile).to_json()["value"] == hostile
    assert Field("Tag").is_in(["a,b", "c(d)"]).to_json()["value"] == ["a,b", "c(d)"]


def test_an_iterator_given_to_is_in_is_read_once_for_both_forms() -> None:
    condition = Field("Stage").is_in(iter(["Won", "Lost"]))
    assert condition.render() == "(Stage:in:Won,Lost)"
    assert condition.to_json()["value"] == ["Won", "Lost"]


def test_groups_nest_as_zoho_writes_them() -> None:
    built = ((Field("A") == 1) & (Field("B") == 2) & (Field("C") == 3)) | (Field("D") == "x")
    assert built.to_json() == {
        "group_operator": "or",
        "group": [
            {
                "group_operator": "and",
                "group": [cond("A", "equal", 1), cond("B", "equal", 2), cond("C", "equal", 3)],
            },
            cond("D", "equal", "x"),
        ],
    }


def test_a_condition_built_from_its_escaped_text_reads_its_value_back() -> None:
    assert Condition("Email", "equals", "a\\,b\\(c\\)").to_json() == cond("Email", "equal", "a,b(c)")
    assert Condition("Tag", "in", "a\\,b,c").to_json() == cond("Tag", "in", ["a,b", "c"])
    assert Condition("Amount", "between", "1,9").to_json() == cond("Amount", "between", ["1", "9"])


def test_an_operator_without_a_json_comparator_is_refused() -> None:
    with pytest.raises(InvalidCriteriaError, match="no comparator"):
        Condition("Email", "like", "x").to_json()
    with pytest.raises(InvalidCriteriaError, match="between takes a list of 2"):
        Condition("Amount", "between", "1,2,3").to_json()


def test_a_written_json_criteria_is_checked_then_sent_as_written() -> None:
    written = {
        "group_operator": "and",
        "group": [
            cond("Last_Name", "ends_with", "son"),
            cond("Email", "not_contains", "spam"),
            {
                "group_operator": "or",
                "group": [cond("Amount", "not_in", [1, 2]), cond("Tag", "equal", "${EMPTY}")],
            },
        ],
    }
    assert criteria_to_json(written) == written
    assert criteria_to_json(cond("Amount", "between", (1, 2))) == cond("Amount", "between", [1, 2])
    assert criteria_to_json(cond("Lead_Source", "contains", "web")) == cond("Lead_Source", "contains", "web")


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ([cond("A", "equal", 1)], "is a JSON object"),
        ({}, "exactly the keys api_name"),
        ({**cond("A", "equal", 1), "extra": 1}, "exactly the keys api_name"),
        ({"api_name": "A", "comparater": "equal", "value": 1}, "exactly the keys api_name"),
        (cond("A", "equals", 1), "unknown comparator"),
        (cond("A B", "equal", 1), "not a field API name"),
        (cond("A),(B", "equal", 1), "not a field API name"),
        (cond(5, "equal", 1), "not a field API name"),
        (cond("A", "equal", ""), "EMPTY"),
        (cond("A", "equal", None), "not NoneType"),
        (cond("A", "equal", {"x": 1}), "not dict"),
        (cond("A", "equal", float("nan")), "cannot be searched"),
        (cond("A", "in", []), "non-empty list"),
        (cond("A", "in", "a,b"), "non-empty list"),
        (cond("A", "in", [[1]]), "not list"),
        (cond("A", "between", [1]), "list of 2"),
        (cond("A", "between", [1, 2, 3]), "list of 2"),
        ({"group_operator": "xor", "group": [cond("A", "equal", 1)]}, "group_operator"),
        ({"group_operator": "AND", "group": [cond("A", "equal", 1)]}, "group_operator"),
        ({"group_operator": "and", "group": []}, "non-empty list"),
        ({"group_operator": "and", "group": cond("A", "equal", 1)}, "non-empty list"),
        ({"group_operator": "and"}, "exactly the keys group_operator"),
        ({"group": [cond("A", "equal", 1)]}, "exactly the keys group_operator"),
        ({"group_operator": "and", "group": [5]}, r"criteria\.group\[0\]"),
    ],
)
def test_a_bad_shape_is_refused_before_sending(criteria: Any, message: str) -> None:
    with pytest.raises(InvalidCriteriaError, match=message):
        criteria_to_json(criteria)


def test_nesting_is_bounded() -> None:
    deep: dict[str, Any] = cond("A", "equal", 1)
    for _ in range(MAX_JSON_CRITERIA_DEPTH):
        deep = {"group_operator": "and", "group": [deep]}
    assert criteria_to_json(deep) == deep
    with pytest.raises(InvalidCriteriaError, match="nest deeper"):
        criteria_to_json({"group_operator": "and", "group": [deep]})


def test_a_loop_in_a_written_criteria_is_refused() -> None:
    group: dict[str, Any] = {"group_operator": "and", "group": []}
    group["group"].append(group)
    with pytest.raises(InvalidCriteriaError, match="nest deeper"):
        criteria_to_json(group)


@pytest.mark.parametrize("value", ["", float("inf"), Decimal("NaN"), object(), None])
def test_json_value_refuses_what_cannot_be_searched_for(value: object) -> None:
    with pytest.raises(InvalidCriteriaError):
        json_value(value)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(InvalidCriteriaError):
        json_value(datetime(2026, 1, 1))  # noqa: DTZ001 (the point: no offset)


def test_a_list_comparator_with_a_raw_value_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(InvalidCriteriaError, match="list of values"):
        Condition("Tag", "in", "a", raw="a").to_json()


def test_the_criteria_base_has_no_form_of_its_own() -> None:
    with pytest.raises(NotImplementedError):
        Criteria().to_json()
