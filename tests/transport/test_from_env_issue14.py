"""Issue 14, item 5: ``from_env`` says which variables to set, reads every ``BIGIN_*`` setting the
keyword list has (``BIGIN_DEADLINE`` was ignored), and ``with_options`` shows what its defaults mean.

The keyword list is enumerated from ``BiginClient.__init__``, never written out here, so a keyword
added later without a variable (or without a ``with_options`` decision) fails these tests.
"""

from __future__ import annotations

import inspect
import logging
import re
import types
import typing
from typing import Any

import pytest

from bigin_async import BiginClient, ConfigurationError, Settings
from bigin_async import client as client_module
from bigin_async._config import build_settings
from bigin_async._types import UNCHANGED, NotGiven

CREDENTIALS = ("client_id", "client_secret", "refresh_token")
TOKEN = {"BIGIN_ACCESS_TOKEN": "1000.from-env"}
REFRESH = {"BIGIN_CLIENT_ID": "1000.id", "BIGIN_CLIENT_SECRET": "secret", "BIGIN_REFRESH_TOKEN": "1000.r"}

# Values that a string keyword accepts and that differ from its default (numbers are derived).
STRING_VALUES = {
    "client_id": "1000.other-id",
    "client_secret": "other-secret",
    "refresh_token": "1000.other-refresh",
    "access_token": "1000.other-token",
    "region": "eu",
    "api_domain": "https://www.zohoapis.eu",
    "accounts_url": "https://accounts.zoho.eu",
    "content_domain": "https://content.zohoapis.eu",
    "edition": "premier",
}
# Keywords that are objects, not settings a variable can spell (BIGIN_TOKEN_FILE and
# BIGIN_REDIS_URL build the last two).
OBJECT_KEYWORDS = {"http_client", "transport", "token_store", "coordination", "event_hooks"}


def _init_keywords() -> dict[str, inspect.Parameter]:
    parameters = inspect.signature(BiginClient.__init__).parameters
    return {name: p for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _scalar(name: str) -> type | None:
    """int, float, bool or str for a keyword whose type has one of them (None left aside)."""
    hint = typing.get_type_hints(BiginClient.__init__)[name]
    # A union either way: X | None, or Optional[X] (3.10's get_type_hints for a None default).
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    members = set(typing.get_args(hint)) if union else {hint}
    for kind in (bool, float, int, str):
        if kind in members:
            return kind
    return None


class Recording(BiginClient):
    """What ``from_env`` passes to the constructor, kept for the test to read."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        super().__init__(**kwargs)


def _changed(name: str, kind: type) -> tuple[str, Any]:
    """A variable's text for ``name`` and the value it must give, other than the default."""
    if kind is str:
        return STRING_VALUES[name], STRING_VALUES[name]
    default = _init_keywords()[name].default
    if kind is bool:
        return ("false", False) if default else ("true", True)
    value = 7 if default is None else default + 3
    return (str(value), kind(value))


# -- 1. nothing set: the variables to set are named --------------------------------------------
def test_nothing_set_names_the_variables_to_set() -> None:
    with pytest.raises(ConfigurationError) as caught:
        BiginClient.from_env({})
    assert str(caught.value) == (
        "no Bigin credentials: set BIGIN_CLIENT_ID, BIGIN_CLIENT_SECRET and BIGIN_REFRESH_TOKEN "
        "(or BIGIN_ACCESS_TOKEN), or pass them as keywords"
    )


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"BIGIN_CLIENT_ID": "1000.id"}, ["BIGIN_CLIENT_SECRET", "BIGIN_REFRESH_TOKEN"]),
        ({"BIGIN_CLIENT_ID": "1000.id", "BIGIN_REFRESH_TOKEN": "1000.r"}, ["BIGIN_CLIENT_SECRET"]),
        (
            {"BIGIN_CLIENT_SECRET": "s3cr3t", "BIGIN_ACCESS_TOKEN": "1000.tok"},
            ["BIGIN_CLIENT_ID", "BIGIN_REFRESH_TOKEN"],
        ),
        # Blank is unset (a shell's ``export BIGIN_CLIENT_SECRET=``).
        (
            {"BIGIN_CLIENT_ID": "1000.id", "BIGIN_CLIENT_SECRET": "  "},
            ["BIGIN_CLIENT_SECRET", "BIGIN_REFRESH_TOKEN"],
        ),
    ],
)
def test_some_set_names_exactly_the_missing_ones(given: dict[str, str], missing: list[str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        BiginClient.from_env(given)
    message = str(caught.value)
    named = re.match(r"incomplete Bigin credentials: (.*?) (?:is|are) not set", message)
    assert named is not None, message
    assert named.group(1) == " and ".join(missing)
    assert "BIGIN_ACCESS_TOKEN" in message  # the other way in
    assert not any(value in message for value in given.values() if value.strip())  # values not echoed


def test_a_keyword_fills_in_for_a_variable() -> None:
    bigin = BiginClient.from_env({"BIGIN_CLIENT_ID": "1000.id"}, client_secret="s", refresh_token="1000.r")
    assert bigin.transport.tokens is not None
    with pytest.raises(ConfigurationError, match=r"^incomplete .*BIGIN_REFRESH_TOKEN is not set"):
        BiginClient.from_env({"BIGIN_CLIENT_ID": "1000.id"}, client_secret="s", refresh_token=None)


# -- 2. every scalar keyword has its variable ----------------------------------------------------
def test_every_keyword_of_the_constructor_is_a_variable_or_an_object() -> None:
    keywords = _init_keywords()
    scalars = {name for name in keywords if _scalar(name) is not None}
    assert set(keywords) - scalars == OBJECT_KEYWORDS
    assert scalars == set(BiginClient.environment_variables())
    documented = BiginClient.from_env.__doc__ or ""
    for name in scalars:
        assert BiginClient.environment_variables()[name] == f"BIGIN_{name.upper()}"
        assert f"BIGIN_{name.upper()}" in documented, name


@pytest.mark.parametrize("name", sorted(n for n in _init_keywords() if n not in OBJECT_KEYWORDS))
def test_each_variable_changes_what_is_built(name: str) -> None:
    kind = _scalar(name)
    assert kind is not None
    text, value = _changed(name, kind)
    base = REFRESH if name in CREDENTIALS else TOKEN
    before = Recording.from_env(base)
    after = Recording.from_env({**base, f"BIGIN_{name.upper()}": text})
    assert before.kwargs.get(name) != value and after.kwargs[name] == value
    if name in Settings.__dataclass_fields__:
        assert after.config != before.config
        if kind is not str:
            assert getattr(after.config, name) == value


def test_deadline_is_read_and_none_turns_it_off() -> None:
    assert BiginClient.from_env(TOKEN).config.deadline == 300.0
    assert BiginClient.from_env({**TOKEN, "BIGIN_DEADLINE": "45"}).config.deadline == 45.0
    for off in ("none", "None", " NONE "):
        assert BiginClient.from_env({**TOKEN, "BIGIN_DEADLINE": off}).config.deadline is None
    assert BiginClient.from_env({**TOKEN, "BIGIN_DEADLINE": ""}).config.deadline == 300.0  # empty: unset
    with pytest.raises(ConfigurationError, match="BIGIN_DEADLINE must be a number or none, got 'soon'"):
        BiginClient.from_env({**TOKEN, "BIGIN_DEADLINE": "soon"})
    with pytest.raises(ConfigurationError, match="BIGIN_TIMEOUT must be a number, got 'none'"):
        BiginClient.from_env({**TOKEN, "BIGIN_TIMEOUT": "none"})
    with pytest.raises(ConfigurationError, match="BIGIN_MAX_RETRIES must be a whole number, got '2.5'"):
        BiginClient.from_env({**TOKEN, "BIGIN_MAX_RETRIES": "2.5"})


def test_the_settings_keywords_are_the_constructors() -> None:
    """build_settings' keywords are a part of __init__'s, spelled and typed alike (one list)."""
    settings = inspect.signature(build_settings).parameters
    init = _init_keywords()
    assert set(settings) <= set(init)
    for name, parameter in settings.items():
        assert parameter.annotation == init[name].annotation, name
    bigin = BiginClient(access_token="t", deadline=12.0, intercall_delay=0.25, max_retry_after=9.0)
    assert (bigin.config.deadline, bigin.config.intercall_delay, bigin.config.max_retry_after) == (
        12.0,
        0.25,
        9.0,
    )


def test_a_mistyped_variable_is_logged_with_the_name_meant(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "_WARNED_VARIABLES", set())
    with caplog.at_level(logging.WARNING, logger="bigin_async"):
        bigin = BiginClient.from_env({**TOKEN, "BIGIN_DEADLNE": "5", "BIGIN_REQUIRE_REDIS": "1"})
        BiginClient.from_env({**TOKEN, "BIGIN_DEADLNE": "5"})  # said once
    assert bigin.config.deadline == 300.0
    messages = [record.getMessage() for record in caplog.records if record.name.startswith("bigin_async")]
    assert messages == ["BIGIN_DEADLNE is not a BIGIN_* variable the SDK reads; did you mean BIGIN_DEADLINE?"]


# -- 5. with_options: the defaults say "unchanged" -------------------------------------------------
# Keywords a view shares with its client (the pool, the tokens, the org's limits): not options.
SHARED_BY_VIEWS = {
    "client_id",
    "event_hooks",  # one event bus for the client and its views
    "client_secret",
    "refresh_token",
    "access_token",
    "expires_in",
    "region",
    "api_domain",
    "accounts_url",
    "edition",
    "max_concurrency",
    "requests_per_minute",
    "daily_limit",
    "min_calls_remaining",
    "bulk_operations_per_minute",
    "intercall_delay",
    "latency_allowance",
    *OBJECT_KEYWORDS,
}


def test_with_options_lists_every_per_call_keyword_typed_and_unchanged_by_default() -> None:
    init = _init_keywords()
    options = dict(inspect.signature(BiginClient.with_options).parameters)
    options.pop("self")
    assert set(options) == set(init) - SHARED_BY_VIEWS
    for name, parameter in options.items():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default is UNCHANGED and isinstance(parameter.default, NotGiven)
        assert parameter.annotation == f"{init[name].annotation} | NotGiven", name
    shown = str(inspect.signature(BiginClient.with_options))
    assert "timeout: 'float | NotGiven' = <unchanged>" in shown and "NOT_GIVEN" not in shown
    documented = BiginClient.with_options.__doc__ or ""
    assert all(f"``{name}``" in documented for name in options)


def test_with_options_keeps_what_is_not_given() -> None:
    bigin = BiginClient(access_token="t", timeout=12.0, deadline=60.0, max_retries=2)
    view = bigin.with_options(max_retries=1)
    assert (view.config.timeout, view.config.deadline, view.config.max_retries) == (12.0, 60.0, 1)
    assert bigin.with_options(deadline=None).config.deadline is None
    assert bigin.with_options(timeout=UNCHANGED).config.timeout == 12.0


def test_yes_no_settings_read_the_usual_words() -> None:
    """No keyword is a yes/no today; one added later reads these words (the rule is documented)."""
    read = client_module._read_bool
    assert [read("BIGIN_X", word, nullable=False) for word in ("1", "True", " yes ", "ON")] == [True] * 4
    assert [read("BIGIN_X", word, nullable=False) for word in ("0", "false", "No", "off")] == [False] * 4
    assert read("BIGIN_X", "none", nullable=True) is None
    with pytest.raises(ConfigurationError, match="BIGIN_X must be true or false"):
        read("BIGIN_X", "none", nullable=False)
