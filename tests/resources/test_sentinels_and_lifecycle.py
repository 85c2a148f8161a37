"""Typed sentinels (``NOT_GIVEN``, ``DEFAULT``) and the one "never closed" warning of every client."""

from __future__ import annotations

import copy
import gc
import json
import pickle
import warnings
from typing import Any

import httpx
import pytest

from bigin_async._types import DEFAULT, NOT_GIVEN, Default, NotGiven
from bigin_async.books import BooksClient
from bigin_async.client import BiginClient
from bigin_async.resources import base

API = "https://www.zohoapis.com"


def _answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.startswith("/books/"):
        return httpx.Response(200, json={"code": 0, "message": "success"})
    if request.url.path.endswith("/Contacts"):
        return httpx.Response(
            201, json={"data": [{"code": "SUCCESS", "status": "success", "details": {"id": "1"}}]}
        )
    return httpx.Response(200, json={"org": []})


def _bigin(handler: Any = _answer) -> BiginClient:
    return BiginClient(access_token="1000.given", transport=httpx.MockTransport(handler))


def _unclosed_warnings(drop: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drop()
        gc.collect()
    return [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) and "never closed" in str(w.message)
    ]


# -- sentinels ---------------------------------------------------------------------------------
def test_not_given_is_falsy_named_and_one_object() -> None:
    assert not NOT_GIVEN
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    assert NotGiven() is NOT_GIVEN
    assert copy.copy(NOT_GIVEN) is NOT_GIVEN and copy.deepcopy(NOT_GIVEN) is NOT_GIVEN
    assert pickle.loads(pickle.dumps(NOT_GIVEN)) is NOT_GIVEN


def test_default_is_named_one_object_and_still_importable_where_it_was() -> None:
    assert repr(DEFAULT) == "DEFAULT"
    assert Default() is DEFAULT
    assert base.DEFAULT is DEFAULT and base.Default is Default
    assert pickle.loads(pickle.dumps(DEFAULT)) is DEFAULT
    assert DEFAULT is not NOT_GIVEN


async def test_with_options_changes_only_what_is_given() -> None:
    async with BiginClient(access_token="1000.given", timeout=12.0, deadline=60.0) as bigin:
        view = bigin.with_options(max_retries=1)
        assert (view.config.timeout, view.config.deadline, view.config.max_retries) == (12.0, 60.0, 1)
        no_deadline = bigin.with_options(deadline=None)  # None is a value: no deadline at all
        assert no_deadline.config.deadline is None and no_deadline.config.timeout == 12.0


async def test_trigger_default_leaves_it_to_zoho_and_an_empty_list_runs_none() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return _answer(request)

    async with _bigin(handler) as bigin:
        await bigin.contacts.create({"Last_Name": "Lovelace"})
        await bigin.contacts.create({"Last_Name": "Lovelace"}, trigger=DEFAULT)
        await bigin.contacts.create({"Last_Name": "Lovelace"}, trigger=[])
        await bigin.contacts.create({"Last_Name": "Lovelace"}, trigger=None)
    assert ["trigger" in body for body in bodies] == [False, False, True, True]
    assert bodies[2]["trigger"] == bodies[3]["trigger"] == []


# -- the "never closed" warning, once for every client -------------------------------------------
async def test_a_used_bigin_client_dropped_unclosed_warns_once_without_io() -> None:
    bigin = _bigin()
    await bigin.request("GET", "/org")
    messages = _unclosed_warnings(lambda: bigin.__del__())
    assert messages == [
        "BiginClient was used and never closed; use `async with BiginClient(...)` or `await client.aclose()`"
    ]
    await bigin.aclose()
    assert _unclosed_warnings(lambda: bigin.__del__()) == []


async def test_an_unused_client_or_a_view_does_not_warn() -> None:
    bigin = _bigin()
    assert _unclosed_warnings(lambda: bigin.__del__()) == []  # never sent a call
    await bigin.request("GET", "/org")
    view = bigin.with_options(timeout=5.0)
    assert _unclosed_warnings(lambda: view.__del__()) == []  # the original owns the pool
    await bigin.aclose()


def test_a_client_whose_constructor_raised_does_not_warn_nor_fail_when_collected() -> None:
    half = object.__new__(BiginClient)  # what __del__ sees when __init__ raised early
    assert _unclosed_warnings(lambda: half.__del__()) == []


async def test_a_stand_alone_books_client_dropped_unclosed_warns() -> None:
    books = BooksClient("10234695", access_token="1000.given", transport=httpx.MockTransport(_answer))
    await books.request("GET", "/contacts")
    assert _unclosed_warnings(lambda: books.__del__()) == [
        "BooksClient was used and never closed; use `async with BooksClient(...)` or `await books.aclose()`"
    ]
    await books.aclose()
    assert _unclosed_warnings(lambda: books.__del__()) == []


async def test_a_books_client_sharing_bigin_s_pool_leaves_the_warning_to_bigin() -> None:
    async with _bigin() as bigin:
        books = BooksClient.from_bigin(bigin, "10234695")
        await books.request("GET", "/contacts")
        assert _unclosed_warnings(lambda: books.__del__()) == []


@pytest.mark.parametrize("cls", [BiginClient, BooksClient])
def test_both_clients_take_the_one_warning_from_the_lifecycle_mixin(cls: type[Any]) -> None:
    assert "__del__" not in vars(cls)


def test_the_sentinels_in_public_signatures_are_importable_from_the_package() -> None:
    import bigin_async
    from bigin_async import _types
    from bigin_async.resources import base

    assert bigin_async.NOT_GIVEN is _types.NOT_GIVEN and bigin_async.DEFAULT is base.DEFAULT
    assert {"NOT_GIVEN", "NotGiven", "NotGivenOr", "DEFAULT", "Default"} <= set(bigin_async.__all__)
