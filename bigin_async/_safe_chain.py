"""httpx's exceptions made safe to chain under an SDK error: no request, no traceback, no secret.

The exception httpx raises holds the whole request it was raised for (a call's ``Authorization``
header, the OAuth form, a revoked token in the URL), and the frames of every traceback below it
hold the same in their locals. Chained as they are, ``error.__cause__.request`` hands them to
whatever logs or reports the error. The transport, a download's stream and the OAuth calls all
chain what :func:`without_request` gives instead.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from bigin_async._redact import redact_url, redact_with

__all__ = ["without_request"]


# How far down a chain is kept: httpx's error, httpcore's, the socket's or the TLS library's, and a
# few more; a chain longer than that (or one that loops) is cut there.
_CHAIN_DEPTH = 16
# What an exception below httpx's may hold and still be kept: plain values, nothing with a request.
_PLAIN = (str, bytes, int, float, bool, type(None))


def _plain(value: object, inner: list[BaseException], depth: int = 0) -> bool:
    """Whether ``value`` is plain data (no object that could hold a request, a frame, a header),
    or exceptions (put in ``inner``, for the caller to judge as links of the chain)."""
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, BaseException):
        inner.append(value)  # httpcore's error holds the socket's in its args, as its cause too
        return True
    if depth < 4 and isinstance(value, tuple | list | frozenset | set):
        return all(_plain(item, inner, depth + 1) for item in value)
    if depth < 4 and isinstance(value, dict):
        return all(
            _plain(key, inner, depth + 1) and _plain(item, inner, depth + 1) for key, item in value.items()
        )
    return False


def _held(exc: BaseException) -> list[object]:
    """What ``exc`` holds besides its chain: its arguments (a group's members among them),
    attributes and slots, and what the built-in exceptions keep outside both (a UnicodeError's
    whole ``object``, an OSError's file names)."""
    held: list[object] = [exc.args, vars(exc), *getattr(exc, "exceptions", ())]
    for cls in type(exc).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            held.append(getattr(exc, name, None))
    for name in ("object", "filename", "filename2", "text"):  # UnicodeError, OSError, SyntaxError
        held.append(getattr(exc, name, None))
    return held


def _keepable(exc: BaseException, secrets: tuple[str, ...], inner: list[BaseException]) -> bool:
    """Whether an exception below httpx's may be chained as it is: it holds plain data only (and
    exceptions, put in ``inner``), and no secret, nor anything shaped like one, in its text."""
    held = _held(exc)
    if not all(_plain(value, inner) for value in held):
        return False
    try:
        text = "\n".join([str(exc), repr(exc), *(repr(value) for value in held)])
    except Exception:  # an exception whose str or repr fails: nothing to judge it by
        return False
    return redact_with(text, secrets) == text


def _safe_chain(
    exc: BaseException | None, secrets: tuple[str, ...], depth: int, kept: dict[int, BaseException | None]
) -> BaseException | None:
    """``exc`` fit to be chained under an SDK error, with what it chains: an httpx exception as a
    copy without its request; any other as it is, its traceback dropped (its frames' locals may
    hold the headers), if it holds no request and no secret, nor an exception that does (a
    group's members); else None: the chain is cut there."""
    if exc is None:
        return None
    if id(exc) in kept:  # a cause that is the context too, or a chain that loops
        return kept[id(exc)]
    kept[id(exc)] = None
    if depth >= _CHAIN_DEPTH:
        return None
    if isinstance(exc, httpx.RequestError):
        copy = _copy_without_request(exc, secrets, depth, kept)
        kept[id(exc)] = copy
        return copy
    inner: list[BaseException] = []
    if isinstance(exc, httpx.HTTPError | httpx.InvalidURL | httpx.CookieConflict):
        return None  # a response or a request in it: not kept
    if not _keepable(exc, secrets, inner):
        return None
    exc.__traceback__ = None
    suppress = exc.__suppress_context__
    exc.__cause__ = _safe_chain(exc.__cause__, secrets, depth + 1, kept)
    exc.__context__ = _safe_chain(exc.__context__, secrets, depth + 1, kept)
    exc.__suppress_context__ = suppress
    # An exception it holds (its cause in its args, a group's members) is kept as it is, or it
    # is not kept either: it would hold the one that was cut.
    if not all(_safe_chain(held, secrets, depth + 1, kept) is held for held in inner):
        return None
    kept[id(exc)] = exc
    return exc


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
    kept[id(exc)] = copy  # a chain that comes back to ``exc`` comes back to the copy
    suppress = exc.__suppress_context__
    copy.__cause__ = _safe_chain(exc.__cause__, secrets, depth + 1, kept)
    copy.__context__ = _safe_chain(exc.__context__, secrets, depth + 1, kept)
    copy.__suppress_context__ = suppress
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
    return _copy_without_request(exc, tuple(secrets), 0, {})
