"""``without_request``, review of 42adc90 (helper-99): what is kept below httpx's error.

- An AttributeError kept in the chain held the request's headers in ``.obj`` (C-level, not in
  its args nor its dict): only the kinds that tell how a connection failed are kept now (the
  socket's and the TLS library's OSErrors, the network libraries' own), each as a copy.
- The walk changed the caller's exceptions in place (their tracebacks dropped, their context
  rewritten), even those it then cut: httpcore's HTTP/2 connection re-raises one stored error to
  every stream, and a user's circuit breaker may keep the last one.
- A lower exception whose property raised made ``without_request`` raise, inside the
  transport's ``except`` block, with httpx's error (and its request) as the context.
"""

from __future__ import annotations

import gc
import ssl
from typing import Any

import httpx
import pytest

from bigin_async._safe_chain import without_request

TOKEN = "plainaccessvalue0123456789"
REQUEST = httpx.Request(
    "GET", "https://www.zohoapis.com/bigin/v2/Contacts", headers={"Authorization": f"Zoho-oauthtoken {TOKEN}"}
)


def _reachable(root: object) -> list[object]:
    """Every object reachable from ``root`` through references (the garbage collector's view)."""
    seen: dict[int, object] = {}
    todo = [root]
    while todo:
        item = todo.pop()
        if id(item) in seen or isinstance(item, type):
            continue
        seen[id(item)] = item
        todo.extend(gc.get_referents(item))
    return list(seen.values())


def _raised(make: Any) -> BaseException:
    try:
        make()
    except BaseException as exc:  # noqa: BLE001 - the test builds chains of any kind
        return exc
    raise AssertionError("nothing raised")


def _read_error_from(cause: BaseException) -> httpx.ReadError:
    def read() -> None:
        raise httpx.ReadError("connection reset", request=REQUEST) from cause

    error = _raised(read)
    assert isinstance(error, httpx.ReadError)
    return error


def test_an_exception_holding_the_headers_outside_its_args_is_not_kept() -> None:
    def reset() -> None:
        try:
            REQUEST.headers.nonexistent  # type: ignore[attr-defined]  # noqa: B018 - .obj: the Headers
        except AttributeError:
            raise OSError(104, "Connection reset by peer") from None

    lower = _raised(reset)
    lower.__context__ = _raised(lambda: REQUEST.headers.nonexistent)  # type: ignore[attr-defined]
    safe = without_request(_read_error_from(lower))
    held = _reachable(safe)
    assert not [item for item in held if isinstance(item, httpx.Headers) and "authorization" in item]
    assert all(TOKEN not in repr(item) for item in held if isinstance(item, str | bytes))
    assert isinstance(safe.__cause__, OSError) and safe.__cause__.errno == 104  # the socket's error, kept


def test_the_callers_own_exceptions_are_left_as_they_were() -> None:
    class PoolError(Exception):
        def __init__(self, pool: object) -> None:
            super().__init__("pool broken")
            self.pool = pool  # an object: not kept

    def reset() -> None:
        try:
            raise PoolError(object())
        except PoolError:
            raise OSError(104, "reset")  # noqa: B904 - its context is the PoolError

    shared = _raised(reset)
    traceback, context = shared.__traceback__, shared.__context__
    safe = without_request(_read_error_from(shared))
    assert shared.__traceback__ is traceback and traceback is not None
    assert shared.__context__ is context and isinstance(context, PoolError)
    assert safe.__cause__ is not shared and isinstance(safe.__cause__, OSError)
    assert safe.__cause__.__traceback__ is None and safe.__cause__.__context__ is None  # the copy's: cut


def test_a_lower_exception_whose_property_raises_is_cut_not_raised() -> None:
    class Odd(Exception):
        @property
        def object(self) -> bytes:  # a lazily decoded body, say
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")

    safe = without_request(_read_error_from(Odd("lower")))
    assert isinstance(safe, httpx.ReadError) and safe.__cause__ is None


def test_a_certificate_failure_is_still_told_apart_by_its_type() -> None:
    failure = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    failure.verify_code = 20
    safe = without_request(_read_error_from(failure))
    assert isinstance(safe.__cause__, ssl.SSLCertVerificationError) and safe.__cause__ is not failure
    assert safe.__cause__.verify_code == 20


@pytest.mark.parametrize("kind", [ValueError, KeyError, RuntimeError])
def test_an_exception_of_no_network_library_is_cut(kind: type[Exception]) -> None:
    safe = without_request(_read_error_from(kind("not about the connection")))
    assert safe.__cause__ is None


def test_an_exception_nested_in_a_lower_ones_arguments_is_a_copy_too() -> None:
    def with_headers() -> None:
        raise httpx.ReadError("inner", request=REQUEST)

    inner = _raised(with_headers)
    lower = OSError(104, "reset")
    lower.args = (104, "reset", (inner,))  # an exception inside a tuple of its arguments
    safe = without_request(_read_error_from(lower))
    held = _reachable(safe)
    assert not [item for item in held if isinstance(item, httpx.Headers) and "authorization" in item]
    assert all(item is not inner for item in held)
