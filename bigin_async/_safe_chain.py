"""httpx's exceptions made safe to chain under an SDK error: no request, no traceback, no secret.

The exception httpx raises holds the whole request it was raised for (a call's ``Authorization``
header, the OAuth form, a revoked token in the URL), and the frames of every traceback below it
hold the same in their locals. Chained as they are, ``error.__cause__.request`` hands them to
whatever logs or reports the error. The transport, a download's stream and the OAuth calls all
chain what :func:`without_request` gives instead.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import httpx

from bigin_async._redact import redact_url, redact_with

if sys.version_info < (3, 11):  # pragma: no cover - the backport anyio depends on there
    from exceptiongroup import BaseExceptionGroup

__all__ = ["without_request"]


# How far down a chain is kept: httpx's error, httpcore's, the socket's or the TLS library's, and a
# few more; a chain longer than that (or one that loops) is cut there.
_CHAIN_DEPTH = 16
# What an exception below httpx's may hold and still be kept: plain values, nothing with a request.
_PLAIN = (str, bytes, int, float, bool, type(None))
# The libraries under httpx whose exceptions say how a connection failed (besides the socket's and
# the TLS library's, which are OSErrors). Any other exception (an AttributeError holds the object
# it was raised on in ``.obj``) is cut, with what it chains.
_NETWORK_LIBRARIES = frozenset({"httpcore", "h11", "h2", "anyio", "trio", "asyncio", "exceptiongroup"})


def _told_apart(exc: BaseException) -> bool:
    """Whether ``exc`` is of a kind kept below httpx's error: what tells how the connection failed."""
    if isinstance(exc, OSError | BaseExceptionGroup):  # the socket's, ssl's (verify_code), a group
        return True
    return type(exc).__module__.partition(".")[0] in _NETWORK_LIBRARIES


def _plain(value: object, depth: int = 0) -> bool:
    """Whether ``value`` is plain data or exceptions (judged as links of the chain themselves),
    nothing that could hold a request, a frame or a header."""
    if isinstance(value, (*_PLAIN, BaseException)):
        return True
    if depth < 4 and isinstance(value, tuple | list | frozenset | set):
        return all(_plain(item, depth + 1) for item in value)
    if depth < 4 and isinstance(value, dict):
        return all(_plain(key, depth + 1) and _plain(item, depth + 1) for key, item in value.items())
    return False


def _held(exc: BaseException) -> list[object]:
    """What ``exc`` holds besides its chain: its arguments, attributes and slots, and what the
    built-in exceptions keep outside both (a UnicodeError's whole ``object``, an OSError's file
    names). Raises whatever a property of a strange exception raises: the caller cuts it then."""
    held: list[object] = [exc.args, vars(exc)]
    for cls in type(exc).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            held.append(getattr(exc, name, None))
    for name in ("object", "filename", "filename2"):  # UnicodeError's, OSError's
        held.append(getattr(exc, name, None))
    return held


def _safe_chain(
    exc: BaseException | None, secrets: tuple[str, ...], depth: int, kept: dict[int, BaseException | None]
) -> BaseException | None:
    """A copy of ``exc`` fit to be chained under an SDK error, with safe copies of what it chains
    (so the user's and httpcore's own exception objects are left as they were): an httpx
    exception without its request; a network library's, the socket's or the TLS library's
    without its traceback (its frames' locals may hold the headers), when it holds plain data
    only and no secret, nor an exception that cannot be kept; else None: the chain is cut there."""
    if exc is None:
        return None
    if id(exc) in kept:  # a cause that is the context too, or a chain that loops
        return kept[id(exc)]
    kept[id(exc)] = None
    if depth >= _CHAIN_DEPTH:
        return None
    if isinstance(exc, httpx.RequestError):
        return _copy_without_request(exc, secrets, depth, kept)
    if not _told_apart(exc):
        return None
    try:
        clone = _clone(exc, secrets, depth, kept)
    except Exception:  # a property that raises, a class that cannot be built again: cut here
        return None
    if clone is None:
        return None
    _chain_safely(exc, clone, secrets, depth, kept)
    kept[id(exc)] = clone  # after its chain: a chain that loops back to ``exc`` is cut there
    return clone


def _clone(
    exc: BaseException, secrets: tuple[str, ...], depth: int, kept: dict[int, BaseException | None]
) -> BaseException | None:
    """``exc`` built again from its arguments and attributes (the exceptions among them as safe
    copies), with no traceback and no chain; None when it may not be kept."""
    held = _held(exc)
    if not all(_plain(value) for value in held):
        return None
    text = "\n".join([str(exc), repr(exc), *(repr(value) for value in held)])
    if redact_with(text, secrets) != text:
        return None

    def safe(value: Any) -> Any:  # what _plain let through: exceptions anywhere in it as copies
        if isinstance(value, BaseException):
            copied = _safe_chain(value, secrets, depth + 1, kept)
            if copied is None:
                raise _Cut
            return copied
        if isinstance(value, tuple | list | frozenset | set):
            return type(value)(safe(item) for item in value)
        if isinstance(value, dict):
            return {safe(key): safe(item) for key, item in value.items()}
        return value

    try:
        if isinstance(exc, BaseExceptionGroup):
            return exc.derive([safe(member) for member in exc.exceptions])
        clone = type(exc)(*(safe(arg) for arg in exc.args))
        for name, value in vars(exc).items():
            setattr(clone, name, safe(value))
    except _Cut:
        return None
    return clone


class _Cut(Exception):
    """An exception held by another cannot be kept: so neither can the one that holds it."""


def _chain_safely(
    exc: BaseException,
    copy: BaseException,
    secrets: tuple[str, ...],
    depth: int,
    kept: dict[int, BaseException | None],
) -> None:
    """What ``exc`` chains, as safe copies, chained by ``copy`` (``exc`` itself is not changed)."""
    copy.__cause__ = _safe_chain(exc.__cause__, secrets, depth + 1, kept)
    copy.__context__ = _safe_chain(exc.__context__, secrets, depth + 1, kept)
    copy.__suppress_context__ = exc.__suppress_context__


def _copy_without_request(
    exc: httpx.RequestError, secrets: tuple[str, ...], depth: int, kept: dict[int, BaseException | None]
) -> httpx.RequestError:
    message = redact_with(str(exc), secrets)
    stand_in: httpx.Request | None = None
    try:
        sent = exc.request
        stand_in = httpx.Request(sent.method, redact_url(str(sent.url)))
    except Exception:  # no request was set, or its URL cannot be rebuilt: the copy goes without
        stand_in = None
    copy: httpx.RequestError | None = None
    for cls in type(exc).__mro__:  # a subclass of another signature: its nearest httpx ancestor
        if issubclass(cls, httpx.RequestError):
            try:
                copy = cls(message, request=stand_in)
            except TypeError:
                continue
            break
    if copy is None:  # pragma: no cover - httpx's own take these
        copy = httpx.RequestError(message, request=stand_in)
    _chain_safely(exc, copy, secrets, depth, kept)
    kept[id(exc)] = copy  # after its chain: a chain that loops back to ``exc`` is cut there
    return copy


def without_request(exc: httpx.RequestError, secrets: Iterable[str] = ()) -> httpx.RequestError:
    """httpx's exception made safe to chain under an SDK error: the same class (so it still says
    what failed, and how far the request got), its message scrubbed, and for a request only the
    method and the redacted URL.

    The exception httpx raises holds the whole request it was raised for: a call's
    ``Authorization`` header, the OAuth form (client secret, refresh token, grant code), the
    revoked token in the URL. Chained as it is, ``error.__cause__.request`` hands them to whatever
    logs or reports the error. The copy has no traceback.

    What httpx's exception chains is kept under the copy: httpcore's error and, below it, the
    socket's or the TLS library's (an ``ssl.SSLCertVerificationError``, an ``OSError`` and its
    ``errno``), so that a certificate failure can still be told from a refused connection by
    type. Their tracebacks are dropped (a frame's locals may hold the headers); an httpx
    exception lower down is copied the same way; an exception that holds anything but plain data
    (a request, a response) or a secret in its text is cut from the chain, with what is below it.
    """
    secrets = tuple(secrets)
    try:
        return _copy_without_request(exc, secrets, 0, {})
    except Exception:  # pragma: no cover - never raise from here: the caller is in an except block
        return httpx.RequestError(redact_with(type(exc).__name__, secrets))
