"""Review of issue 14's configuration and missing-id work (``from_env``, ``with_options``'s sentinel,
update/delete of a missing id): each test names the defect it caught, or the promise it guards.
"""

from __future__ import annotations

import copy
import logging
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigin_async import BiginClient, ConfigurationError, InvalidRequestError, NotFoundError, ValidationError
from bigin_async import client as client_module
from bigin_async._types import NOT_GIVEN, UNCHANGED, NotGiven
from bigin_emulator import BiginEmulator

TOKEN = {"BIGIN_ACCESS_TOKEN": "1000.from-env"}
MISSING = "4150868000000999999"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_warnings() -> Any:
    """The typo warning fires once a process: each test starts with none given yet."""
    client_module._WARNED_VARIABLES.clear()
    yield
    client_module._WARNED_VARIABLES.clear()


# -- from_env: a value out of range names its variable -----------------------------------------
@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("BIGIN_TIMEOUT", "-1"),
        ("BIGIN_TIMEOUT", "nan"),
        ("BIGIN_TIMEOUT", "inf"),
        ("BIGIN_MAX_RETRIES", "-2"),
        ("BIGIN_DEADLINE", "0"),
        ("BIGIN_DAILY_LIMIT", "0"),
        ("BIGIN_MAX_RETRY_AFTER", "-infinity"),
        ("BIGIN_REGION", "mars"),
        ("BIGIN_EDITION", "platinum"),
        ("BIGIN_API_DOMAIN", "ftp://example.com"),
        ("BIGIN_CONTENT_DOMAIN", "http://files.example.com"),
        ("BIGIN_EXPIRES_IN", "-5"),
    ],
)
def test_a_variable_whose_value_is_refused_is_named_in_the_error(variable: str, raw: str) -> None:
    """Defect: a number that parses but is out of range (``BIGIN_TIMEOUT=-1``, ``nan``, ``inf``) or
    a refused region/URL was reported by the keyword alone ("timeout must be > 0"), so a user
    reading the error did not know it came from the environment, nor which variable to fix."""
    with pytest.raises(ConfigurationError) as caught:
        BiginClient.from_env({**TOKEN, variable: raw})
    assert variable in str(caught.value)


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "NaN"])
def test_expires_in_must_be_a_finite_number(raw: str) -> None:
    """Defect: ``expires_in=nan`` (``BIGIN_EXPIRES_IN=nan``) passed the ``<= 0`` check (every
    comparison with nan is false) and ``inf`` passed as "never expires": the token's lifetime
    became nonsense instead of a ConfigurationError at construction."""
    with pytest.raises(ConfigurationError, match="expires_in"):
        BiginClient(access_token="1000.t", expires_in=float(raw))
    with pytest.raises(ConfigurationError, match="BIGIN_EXPIRES_IN"):
        BiginClient.from_env({**TOKEN, "BIGIN_EXPIRES_IN": raw})


def test_a_keyword_override_wins_over_a_broken_variable() -> None:
    """Defect: "keyword overrides win" was not true of a variable that could not be read:
    ``from_env(timeout=5)`` with a stale ``BIGIN_TIMEOUT=soon`` in the environment raised about
    the variable the caller had just overridden."""
    env = {**TOKEN, "BIGIN_TIMEOUT": "soon", "BIGIN_MAX_RETRIES": "-3", "BIGIN_REGION": "mars"}
    client = BiginClient.from_env(env, timeout=5.0, max_retries=1, region="eu")
    assert (client.config.timeout, client.config.max_retries, client.config.region.code) == (5.0, 1, "eu")


@pytest.mark.parametrize(
    "env",
    [
        {"BIGIN_CLIENT_ID": "1000.id", "BIGIN_CLIENT_SECRET": "garbage"},
        {"BIGIN_CLIENT_SECRET": "garbage", "BIGIN_REFRESH_TOKEN": "1000.r", "BIGIN_TIMEOUT": "x"},
        {
            "BIGIN_CLIENT_SECRET": "garbage",
            "BIGIN_REFRESH_TOKEN": "1000.r",
            "BIGIN_CLIENT_ID": "i",
            "BIGIN_MAX_RETRIES": "-1",
        },
        {
            "BIGIN_CLIENT_SECRET": "garbage",
            "BIGIN_REFRESH_TOKEN": "1000.r",
            "BIGIN_CLIENT_ID": "i",
            "BIGIN_EXPIRES_IN": "nan",
        },
    ],
)
def test_no_error_of_from_env_shows_the_client_secret(env: dict[str, str]) -> None:
    """Guard: whatever is wrong around it, the secret's value is never in the error."""
    with pytest.raises(ConfigurationError) as caught:
        BiginClient.from_env(env)
    assert "garbage" not in str(caught.value) and "garbage" not in repr(caught.value.args)


@pytest.mark.parametrize(
    "variable", ["BIGIN_TIMEOUT", "BIGIN_EXPIRES_IN", "BIGIN_REGION", "BIGIN_API_DOMAIN"]
)
def test_a_secret_pasted_into_another_variable_is_not_echoed(variable: str) -> None:
    """Defect: a ``.env`` whose lines slipped (the client secret's value on the ``BIGIN_TIMEOUT=``
    line, say) got the secret echoed back in the error ("BIGIN_TIMEOUT must be a number, got
    'sekrit-value-42'"), into a terminal, a CI log or an error tracker. Values of the credential
    variables are masked in every error from_env raises."""
    secret = "sekrit-value-42"
    env = {"BIGIN_CLIENT_ID": "1000.id", "BIGIN_CLIENT_SECRET": secret, "BIGIN_REFRESH_TOKEN": "1000.r"}
    with pytest.raises(ConfigurationError) as caught:
        BiginClient.from_env({**env, variable: secret})
    assert variable in str(caught.value) and secret not in str(caught.value)


@pytest.mark.parametrize("raw", ["none", "None", "NONE", "null", " none "])
def test_none_words_give_none_to_numbers_that_may_be_none(raw: str) -> None:
    """Guard: every spelling of none the docstring promises, blanks around it included."""
    client = BiginClient.from_env({**TOKEN, "BIGIN_DEADLINE": raw, "BIGIN_DAILY_LIMIT": raw})
    assert (client.config.deadline, client.config.daily_limit) == (None, None)


@pytest.mark.parametrize(("variable", "raw"), [("BIGIN_MAX_RETRIES", "1e3"), ("BIGIN_TIMEOUT", "none")])
def test_a_whole_number_or_a_non_nullable_number_is_strict(variable: str, raw: str) -> None:
    """Guard: ``1e3`` is not a whole number and ``none`` is not a timeout; the error names the
    variable."""
    with pytest.raises(ConfigurationError, match=variable):
        BiginClient.from_env({**TOKEN, variable: raw})


def test_region_and_edition_read_case_insensitively_with_blanks() -> None:
    client = BiginClient.from_env({**TOKEN, "BIGIN_REGION": " EU ", "BIGIN_EDITION": "Premier\n"})
    assert (client.config.region.code, client.config.edition is not None) == ("eu", True)
    assert client.config.edition is not None and client.config.edition.value == "premier"


def test_the_typo_warning_names_variables_only_and_fires_once(caplog: pytest.LogCaptureFixture) -> None:
    """Guard: a mistyped secret variable is warned about by name; its value never reaches a log."""
    env = {**TOKEN, "BIGIN_CLIENT_SECRE": "sekrit", "BIGIN_TOKEN_FILE": "", "BIGIN_REDIS_ORG": "x"}
    with caplog.at_level(logging.WARNING, logger="bigin_async"):
        BiginClient.from_env(env)
        BiginClient.from_env(env)
    warned = [record.getMessage() for record in caplog.records]
    assert len(warned) == 1 and "BIGIN_CLIENT_SECRE " in warned[0] and "BIGIN_CLIENT_SECRET" in warned[0]
    assert all("sekrit" not in message for message in warned)


def test_environment_variables_is_the_documented_list() -> None:
    """Guard: the variables the docstring lists are the ones read, in the constructor's order."""
    variables = list(BiginClient.environment_variables().values())
    assert variables == [
        "BIGIN_CLIENT_ID",
        "BIGIN_CLIENT_SECRET",
        "BIGIN_REFRESH_TOKEN",
        "BIGIN_ACCESS_TOKEN",
        "BIGIN_EXPIRES_IN",
        "BIGIN_REGION",
        "BIGIN_API_DOMAIN",
        "BIGIN_ACCOUNTS_URL",
        "BIGIN_CONTENT_DOMAIN",
        "BIGIN_EDITION",
        "BIGIN_MAX_CONCURRENCY",
        "BIGIN_REQUESTS_PER_MINUTE",
        "BIGIN_DAILY_LIMIT",
        "BIGIN_MIN_CALLS_REMAINING",
        "BIGIN_BULK_OPERATIONS_PER_MINUTE",
        "BIGIN_MAX_RETRIES",
        "BIGIN_RETRY_BACKOFF_SECONDS",
        "BIGIN_MAX_RETRY_AFTER",
        "BIGIN_INTERCALL_DELAY",
        "BIGIN_TIMEOUT",
        "BIGIN_DEADLINE",
        "BIGIN_LATENCY_ALLOWANCE",
    ]
    doc = BiginClient.from_env.__doc__ or ""
    assert all(variable in doc for variable in variables)


# -- the import-time check of build_settings against __init__ ----------------------------------
def test_the_settings_keyword_check_runs_under_python_O() -> None:
    """Guard: the check raises (no ``assert``), so ``python -O`` keeps it."""
    code = (
        "import bigin_async.client as c\n"
        "def build_settings(*, region: 'str | Region' = 'us', extra: int = 1): ...\n"
        "c.build_settings = build_settings\n"
        "try:\n    c._check_settings_keywords()\nexcept TypeError as e:\n    print('refused', e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, timeout=120
    )
    assert done.stdout.startswith("refused") and "extra" in done.stdout


# -- with_options' sentinel --------------------------------------------------------------------
def test_unchanged_is_one_falsy_object_through_copies_and_pickles() -> None:
    assert copy.copy(UNCHANGED) is UNCHANGED and copy.deepcopy(UNCHANGED) is UNCHANGED
    assert pickle.loads(pickle.dumps(UNCHANGED)) is UNCHANGED
    assert pickle.loads(pickle.dumps(NOT_GIVEN)) is NOT_GIVEN and UNCHANGED is not NOT_GIVEN
    assert not UNCHANGED and repr(UNCHANGED) == "<unchanged>" and isinstance(UNCHANGED, NotGiven)


def test_not_given_passed_to_with_options_keeps_the_value() -> None:
    client = BiginClient(access_token="1000.t", timeout=7.0, deadline=None)
    view = client.with_options(timeout=NOT_GIVEN, deadline=UNCHANGED, max_retries=2)
    assert (view.config.timeout, view.config.deadline, view.config.max_retries) == (7.0, None, 2)


# -- a missing record id ---------------------------------------------------------------------
async def test_a_missing_id_is_still_an_invalid_request_for_code_written_before() -> None:
    """Defect (compatibility): update/delete of a missing id raised ``InvalidRequestError``
    (``INVALID_DATA``) before issue 14; it became a ``NotFoundError`` that is not one, so an
    application's ``except InvalidRequestError`` around an update stopped catching it. The error
    is now both: ``except NotFoundError`` and the old ``except InvalidRequestError`` catch it."""
    async with BiginEmulator().client() as bigin:
        with pytest.raises(InvalidRequestError) as deleting:
            await bigin.contacts.delete(MISSING)
        with pytest.raises(InvalidRequestError) as updating:
            await bigin.contacts.update(MISSING, {"Last_Name": "X"})
        for caught in (deleting, updating):
            assert isinstance(caught.value, NotFoundError) and caught.value.code == "INVALID_DATA"


def _answer(entry: dict[str, Any]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(400, json={"data": [entry]}))


@pytest.mark.parametrize(
    "details",
    [
        {"api_name": "id", "json_path": "$.data[0].Account_Name.id"},
        {"api_name": "id", "json_path": "$.data[0].Tag[0].id"},
    ],
)
async def test_an_id_nested_in_a_field_is_the_datas_fault_not_a_missing_record(
    details: dict[str, Any],
) -> None:
    """Defect: details ``{"api_name": "id"}`` were read as "the record's id" whatever their
    ``json_path``; a lookup's own id (``$.data[0].Account_Name.id``) refused that way made an
    update of a record that IS there a NotFoundError (a FastAPI 404 for a bad company id)."""
    entry = {"code": "INVALID_DATA", "message": "invalid data", "status": "error", "details": details}
    async with BiginClient(access_token="1000.t", transport=_answer(entry), max_retries=0) as bigin:
        with pytest.raises(InvalidRequestError) as caught:
            await bigin.contacts.update(MISSING, {"Account_Name": {"id": "4150868000000000001"}})
    assert not isinstance(caught.value, NotFoundError)


async def test_a_malformed_id_is_refused_before_sending_and_is_not_not_found() -> None:
    async with BiginEmulator().client() as bigin:
        with pytest.raises(ValidationError) as deleting:
            await bigin.contacts.delete("12ab")
        with pytest.raises(ValidationError) as updating:
            await bigin.contacts.update("12ab", {"Last_Name": "X"})
    assert not isinstance(deleting.value, NotFoundError) and not isinstance(updating.value, NotFoundError)


async def test_a_missing_id_answers_404_through_the_fastapi_handlers() -> None:
    """Guard: the error that is both classes is answered as the NotFoundError it is (404)."""
    pytest.importorskip("fastapi")
    from fastapi import FastAPI

    from bigin_async.integrations.fastapi import add_bigin_exception_handlers

    emulator = BiginEmulator()
    app = FastAPI()
    add_bigin_exception_handlers(app)

    @app.delete("/contacts/{record_id}")
    async def remove(record_id: str) -> dict[str, Any]:
        async with emulator.client() as bigin:
            await bigin.contacts.delete(record_id)
        return {}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.delete(f"/contacts/{MISSING}")
    assert answer.status_code == 404
