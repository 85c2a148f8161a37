"""Values Bigin cannot store, mixed into big bulk writes: each fails its own record, the rest go.

Bytes, arbitrary objects, NaN and infinities (float and Decimal), datetimes without an offset,
and the same hidden inside lists, dicts, tuples and sets. The run must end with a result (never an
``ExceptionGroup``), every bad record an ``INVALID_INPUT`` error naming its field, every good
record written exactly once, and a journal resume must not send anything again.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigin_async import ValidationError
from bigin_async.models import wire_value
from bigin_emulator import BiginEmulator, FaultPlan


class Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


def bad_values() -> list[Any]:
    return [
        b"raw",
        bytearray(b"raw"),
        memoryview(b"raw"),
        Opaque(),
        object(),
        math.nan,
        math.inf,
        -math.inf,
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        datetime(2026, 2, 6, 9, 30),
        [1, b"x"],
        {"id": Opaque()},
        (1.0, math.nan),
        {b"x"},
        {"deep": [{"deeper": [datetime(2026, 1, 1)]}]},
        {1.5: "float key ok", "bad": {Opaque(): 1}},
        range(3),
        (x for x in "gen"),
    ]


GOOD_EXTRAS: list[Any] = [
    Decimal("12.50"),
    date(2026, 2, 6),
    datetime(2026, 2, 6, 9, 30, tzinfo=timezone(timedelta(hours=-8))),
    1.25,
    {"id": "7000000000000000001"},
    ("a", "b"),
    frozenset({"x", "y"}),
    None,
    True,
]


def mixed(n: int, seed: int) -> tuple[list[dict[str, Any]], set[int]]:
    rng = random.Random(seed)
    bad = bad_values()
    records, broken = [], set()
    for i in range(n):
        record: dict[str, Any] = {"Last_Name": f"n{i}", "Email": f"p{i}@example.com"}
        if rng.random() < 0.1:
            record["Custom_Bad"] = bad[rng.randrange(len(bad))]
            broken.add(i)
        elif rng.random() < 0.2:
            record["Description"] = str(GOOD_EXTRAS[rng.randrange(len(GOOD_EXTRAS))])
        records.append(record)
    return records, broken


@pytest.mark.parametrize("mode", ["create", "upsert"])
async def test_bad_values_in_a_big_batch_fail_alone(tmp_path: Path, mode: str) -> None:
    records, broken = mixed(2_000, seed=3)
    journal = str(tmp_path / "j")
    emulator = BiginEmulator(faults=FaultPlan(seed=1, error_503=0.05, error_429=0.05))
    async with emulator.client(retry_backoff_seconds=0, max_retry_after=0.1, max_retries=6) as bigin:
        write = bigin.contacts.bulk_create if mode == "create" else bigin.contacts.bulk_upsert
        result = await write(records, journal=journal)
        again = await write(records, journal=journal)
    assert [o.index for o in result] == list(range(2_000))
    refused = {o.index for o in result if o.code == "INVALID_INPUT"}
    assert refused == broken
    assert all("Custom_Bad" in (result.outcomes[i].message or "") for i in broken)
    written = Counter(str(r["Email"]) for r in emulator.store.table("Contacts"))
    ok = {o.index for o in result if o.status == "success"}
    assert {f"p{i}@example.com" for i in ok} <= set(written) and max(written.values()) == 1
    assert not any(f"p{i}@example.com" in written for i in broken)
    # Confirmed records are settled by the journal; refused ones are refused again before sending.
    assert again.skipped >= len(ok)
    assert {o.index for o in again if o.code == "INVALID_INPUT"} == broken
    assert max(Counter(str(r["Email"]) for r in emulator.store.table("Contacts")).values()) == 1


async def test_bad_values_through_a_bulk_writer(tmp_path: Path) -> None:
    records, broken = mixed(500, seed=9)
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        async with bigin.contacts.bulk_writer("create") as writer:
            for record in records:
                await writer.add(record)
    result = writer.result
    assert {o.index for o in result if o.status == "error"} == broken
    assert len(emulator.store.table("Contacts")) == 500 - len(broken)


# -- wire_value on random nests ---------------------------------------------------------------------

leaves_good = st.one_of(
    st.text(max_size=5),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.datetimes(timezones=st.just(timezone.utc)),
)
leaves_bad = st.one_of(
    st.binary(max_size=3),
    st.just(math.nan),
    st.just(math.inf),
    st.just(Decimal("NaN")),
    st.datetimes(timezones=st.none()),
    st.builds(Opaque),
)


def nests(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.tuples(inner, inner),
            st.dictionaries(st.text(max_size=3), inner, max_size=3),
            st.frozensets(st.one_of(st.text(max_size=3), st.integers()), max_size=4),
        ),
        max_leaves=8,
    )


@settings(max_examples=200, deadline=None)
@given(nests(leaves_good))
def test_good_nests_become_json_the_same_way_every_time(value: Any) -> None:
    first = wire_value(value)
    assert json.dumps(first, allow_nan=False, sort_keys=True) == json.dumps(
        wire_value(value), allow_nan=False, sort_keys=True
    )


@settings(max_examples=200, deadline=None)
@given(nests(leaves_good), leaves_bad, st.integers(0, 3))
def test_a_bad_leaf_anywhere_is_a_validation_error(good: Any, bad: Any, where: int) -> None:
    value = [[good, bad], {"k": bad, "g": good}, (good, bad), {"a": {"b": [bad]}}][where]
    with pytest.raises(ValidationError):
        wire_value(value)
