"""A traceback logged on an SDK logger is redacted like its message, whatever handler writes it.

Defect: ``RedactingFilter`` cleaned a record's message only. A record logged with ``exc_info``
carries the exception, and every handler writes out its traceback later, with the texts of each
chained cause: httpx's "for url '...?refresh_token=...&client_secret=...'", a proxy's echo of the
``Authorization: Zoho-oauthtoken ...`` header. Those reached the log whole. rich's ``RichHandler``
(the ``bigin`` command's handler) with ``rich_tracebacks`` draws the traceback from the exception
itself, so a cleaned ``exc_text`` alone does not stop it there.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Callable, Iterator

import pytest
from rich.console import Console
from rich.logging import RichHandler

from bigin_async._redact import REDACTED, RedactedTraceback, register_secret
from bigin_async.cli.main import _configure_logging

REFRESH = "1000." + "a1" * 16 + "." + "b2" * 16
SECRET = "c3" * 20
ACCESS = "1000." + "d4" * 16 + "." + "e5" * 16
BEARER = "f6" * 20
GRANT = "grantcode" + "7" * 12
CLIENT_ID = "1000.CLIENTID" + "X" * 20
HEADER_TOKEN = "h8" * 16
BARE_SHAPE = "1000." + "9a" * 16 + "." + "0b" * 16
# Echoed with no name and no known shape: caught only once registered by value.
UNLABELLED = "plain" + secrets.token_hex(12)


@pytest.fixture(autouse=True)
def _unlabelled_is_registered() -> None:
    """Registered before each test, not once at import: the redactor keeps only the 64 latest
    values, and the rest of a full run registers far more than that after this module is collected."""
    register_secret(UNLABELLED)


ALL_SECRETS = (REFRESH, SECRET, ACCESS, BEARER, GRANT, CLIENT_ID, HEADER_TOKEN, BARE_SHAPE, UNLABELLED)
# Loggers the SDK filters (its own and its HTTP stack's); every SDK module logs on ``bigin_async``.
SDK_LOGGERS = ("bigin_async", "httpx", "httpcore")


class RefreshBroke(RuntimeError):
    """An exception type the traceback must still name after redaction."""


def chained_failure() -> RefreshBroke:
    """A three-deep chain (``from`` cause, then "during handling" context), every link echoing
    secrets of a different kind the redactor knows."""
    try:
        try:
            raise ValueError(
                "Client error '400 Bad Request' for url 'https://accounts.zoho.com/oauth/v2/token"
                f"?refresh_token={REFRESH}&client_secret={SECRET}&code={GRANT}&client_id={CLIENT_ID}'"
            )
        except ValueError as cause:
            raise ConnectionError(
                f"proxy echoed: Authorization: Zoho-oauthtoken {ACCESS}; also Bearer {BEARER}; "
                f"headers [(b'X-Refresh-Token', b'{HEADER_TOKEN}')]"
            ) from cause
    except ConnectionError:
        try:
            raise RefreshBroke(f'body {{"access_token": "{ACCESS}"}} token {BARE_SHAPE} bad {UNLABELLED}')
        except RefreshBroke as error:
            return error


def assert_clean(text: str) -> None:
    leaked = [secret for secret in ALL_SECRETS if secret in text]
    assert not leaked, f"secrets in the log output: {leaked}\n{text}"
    assert REDACTED in text
    for name in ("ValueError", "ConnectionError", "RefreshBroke"):
        assert name in text, f"{name} missing from:\n{text}"
    assert "direct cause" in text and "During handling" in text  # the chain is still told


@pytest.fixture
def attach() -> Iterator[Callable[[str, logging.Handler], logging.Logger]]:
    """Attach a handler to a logger at ERROR for one test, then take it off again."""
    undo: list[tuple[logging.Logger, logging.Handler, int, bool]] = []

    def _attach(name: str, handler: logging.Handler) -> logging.Logger:
        logger = logging.getLogger(name)
        undo.append((logger, handler, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(logging.ERROR)
        logger.propagate = False
        return logger

    yield _attach
    for logger, handler, level, propagate in reversed(undo):
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def log_failure(logger: logging.Logger) -> None:
    error = chained_failure()
    logger.error("refresh failed for %s", "the client", exc_info=error)


@pytest.mark.parametrize("name", SDK_LOGGERS)
def test_a_plain_stream_handler_writes_the_traceback_redacted(
    name: str, attach: Callable[[str, logging.Handler], logging.Logger]
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    log_failure(attach(name, handler))
    output = stream.getvalue()
    assert_clean(output)
    assert "refresh failed for the client" in output and "Traceback (most recent call last)" in output


def test_a_formatter_with_its_own_exception_format_gets_a_redacted_exception(
    attach: Callable[[str, logging.Handler], logging.Logger],
) -> None:
    """A formatter that ignores the cached ``exc_text`` and formats ``exc_info`` itself (as JSON
    formatters and error trackers do) finds nothing secret in it either."""

    class OwnFormat(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            assert record.exc_info is not None
            return record.getMessage() + "\n" + self.formatException(record.exc_info)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OwnFormat())
    log_failure(attach("bigin_async", handler))
    assert_clean(stream.getvalue())


def test_caplog_sees_the_traceback_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="bigin_async")
    log_failure(logging.getLogger("bigin_async"))
    assert_clean(caplog.text)
    (record,) = [r for r in caplog.records if r.getMessage() == "refresh failed for the client"]
    assert record.exc_text is not None
    assert_clean(record.exc_text)
    # What an error tracker reads from the record is a stand-in that tells the redacted story.
    assert record.exc_info is not None and record.exc_info[0] is RedactedTraceback
    assert_clean(str(record.exc_info[1]))


@pytest.mark.parametrize("rich_tracebacks", [False, True], ids=["plain", "rich-tracebacks"])
def test_rich_handler_writes_the_traceback_redacted(
    rich_tracebacks: bool, attach: Callable[[str, logging.Handler], logging.Logger]
) -> None:
    """rich draws the traceback from ``exc_info`` itself when ``rich_tracebacks`` is on."""
    console = Console(file=io.StringIO(), width=1000, color_system=None)
    handler = RichHandler(console=console, show_path=False, show_time=False, rich_tracebacks=rich_tracebacks)
    log_failure(attach("bigin_async", handler))
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert_clean(output)


def test_the_bigin_commands_own_log_handler_writes_the_traceback_redacted() -> None:
    console = Console(file=io.StringIO(), width=1000, color_system=None)
    _configure_logging(console, verbose=False)  # the handler `bigin import/export` log through
    log_failure(logging.getLogger("bigin_async"))
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert "refresh failed for the client" in output
    assert_clean(output)


def test_a_stack_logged_with_stack_info_is_redacted(
    attach: Callable[[str, logging.Handler], logging.Logger],
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = attach("bigin_async", handler)
    logger.error("here", stack_info=True)  # Zoho-oauthtoken 1000.a1a1a1a1.b2b2b2b2 (on the stack)
    output = stream.getvalue()
    assert "Stack (most recent call last)" in output and "test_a_stack_logged_with_stack_info" in output
    assert "1000.a1a1a1a1.b2b2b2b2" not in output and REDACTED in output


def test_a_clean_traceback_keeps_the_exception_itself(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing secret in it: handlers and error trackers get the real exception, untouched."""
    caplog.set_level(logging.ERROR, logger="bigin_async")
    error = ValueError("the CSV's row 7 has no Last_Name")
    logging.getLogger("bigin_async").error("import failed", exc_info=error)
    (record,) = [r for r in caplog.records if r.getMessage() == "import failed"]
    assert record.exc_info is not None and record.exc_info[1] is error
    assert "row 7 has no Last_Name" in caplog.text and REDACTED not in caplog.text


def test_the_message_and_its_arguments_are_still_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="bigin_async")
    logging.getLogger("bigin_async").error("calling %s", f"https://x.example/?refresh_token={REFRESH}")
    (record,) = [r for r in caplog.records if r.getMessage().startswith("calling")]
    assert REFRESH not in caplog.text and REFRESH not in record.getMessage()
    assert record.args is None or REFRESH not in repr(record.args)
