"""How hard the emulator plays: the places where real Zoho is harsher than a tidy fake.

An SDK bug hides wherever the emulator is kinder than Zoho: a client that only survives 429s
because the fake says ``Retry-After``, finds records by ``equals`` because the fake matches
exactly, or reaches the API because the fake answers on any host, is not shown its bugs. Each
field of ``Realism`` turns one such kindness off; ``REALISM_PRESETS["zoho"]`` turns them all off
(but ``drop_write_result_rows``, a fault), ``REALISM_PRESETS["kind"]`` (the default) is the
emulator as it always was.

``BiginEmulator(realism="zoho")`` takes the preset; a keyword given next to it
(``BiginEmulator(realism="zoho", search_lag=0)``) overrides that one field.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "REALISM_PRESETS",
    "RateLimitHeaders",
    "Realism",
    "RealismName",
    "TokenExpiryStyle",
    "resolve_realism",
]

RealismName = Literal["kind", "zoho"]
# Which X-RateLimit-* headers answers carry when a quota is configured:
# "full" Limit, Remaining and Reset; "no_reset" Limit and Remaining only (as proxies send them);
# "none" nothing at all (Zoho documents no rate-limit headers).
RateLimitHeaders = Literal["full", "no_reset", "none"]
# How a token answer states its lifetime: "expires_in" seconds (Zoho Accounts today);
# "expires_in_sec" only that key; "legacy_ms" both, ``expires_in`` in milliseconds (older answers).
TokenExpiryStyle = Literal["expires_in", "expires_in_sec", "legacy_ms"]

_HEADER_STYLES: tuple[str, ...] = ("full", "no_reset", "none")
_EXPIRY_STYLES: tuple[str, ...] = ("expires_in", "expires_in_sec", "legacy_ms")


@dataclass(frozen=True)
class Realism:
    """Every switch that makes the emulator harder; the defaults are the kind emulator.

    - ``bare_429s``: 429 answers carry no ``Retry-After`` and no ``X-RateLimit-*`` headers (Zoho
      documents neither), so a client must pick its own back-off.
    - ``rate_limit_headers``: the ``X-RateLimit-*`` set on admitted answers while a quota
      (``ServerLimits.per_minute``/``daily_credits``) is configured, see ``RateLimitHeaders``.
    - ``loose_equals``: search criteria ``equals`` on text also matches a value holding every word
      of the one asked for (``Nango Test Product`` finds ``Nango Unlink Test Product``, as the
      recording ``search_products_equals_fuzzy.json`` shows real Bigin doing).
    - ``search_lag``: seconds, on the emulator's clock, before search sees a write: a record
      inserted is not found, a record updated is found by its earlier values, until then.
    - ``keep_alive_timeout``: seconds an idle keep-alive connection stays open under ``serve()``.
    - ``hang_up_after``: under ``serve()``, a connection that has carried this many answers is
      closed by the server as the next request arrives on it, unanswered: the race of a
      keep-alive timer firing just as a client reuses its pooled connection (the client sees
      "Server disconnected without sending a response"; the server never saw the request).
    - ``check_scopes``: tokens are checked for their scopes: Zoho Books answers HTTP 401
      ``{"code": 57}`` to a token without a ``ZohoBooks.`` scope, Bigin's search answers 401
      ``OAUTH_SCOPE_MISMATCH`` without ``ZohoSearch.securesearch.READ``.
    - ``pin_api_domain``: ``emulator.client()`` passes ``api_domain``; without it the client must
      take the host from the token answer's ``api_domain``, and the in-process transport answers
      only on the emulator's own host (any other host is a connection error).
    - ``token_expiry``: how token answers state the token's lifetime, see ``TokenExpiryStyle``.
    - ``shuffle_write_results``: a Bulk Write result CSV lists its rows in a shuffled order
      instead of the input's (Zoho does not promise the order), so a client must match each
      row to its record by the echoed columns.
    - ``write_results_echo_columns``: a Bulk Write result CSV echoes only the first N mapped
      columns (None: all of them; 0: none) before ``STATUS``, ``RECORD_ID`` and ``ERRORS``, so a
      client cannot count on telling records apart by every column it sent.
    - ``drop_write_result_rows``: a Bulk Write result CSV silently lacks this many rows (chosen
      by the file, the same for the same upload; the job's counts still say every row), so a
      client must not take a record without a result row for a success.
    - ``max_concurrency``: the server's concurrent-call cap when the ``ServerLimits`` given set
      none (Zoho always has one: 10 calls per org); None leaves requests uncapped.
    """

    bare_429s: bool = False
    rate_limit_headers: RateLimitHeaders = "full"
    loose_equals: bool = False
    search_lag: float = 0.0
    keep_alive_timeout: float = 5.0
    hang_up_after: int | None = None
    check_scopes: bool = False
    pin_api_domain: bool = True
    token_expiry: TokenExpiryStyle = "expires_in"
    max_concurrency: int | None = None
    shuffle_write_results: bool = False
    write_results_echo_columns: int | None = None
    drop_write_result_rows: int = 0

    def __post_init__(self) -> None:
        if self.rate_limit_headers not in _HEADER_STYLES:
            raise ValueError(
                f"rate_limit_headers must be one of {_HEADER_STYLES}, got {self.rate_limit_headers!r}"
            )
        if self.token_expiry not in _EXPIRY_STYLES:
            raise ValueError(f"token_expiry must be one of {_EXPIRY_STYLES}, got {self.token_expiry!r}")
        for name in ("search_lag", "keep_alive_timeout"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        for name, value in (
            ("write_results_echo_columns", self.write_results_echo_columns),
            ("drop_write_result_rows", self.drop_write_result_rows),
        ):
            if (value is not None or name == "drop_write_result_rows") and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        for name in ("hang_up_after", "max_concurrency"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive int or None, got {value!r}")


REALISM_PRESETS: dict[str, Realism] = {
    "kind": Realism(),
    "zoho": Realism(
        bare_429s=True,
        rate_limit_headers="no_reset",
        loose_equals=True,
        search_lag=15.0,  # docs/zoho-api-facts.md, Search: the index lags writes by about 10-20 s
        keep_alive_timeout=1.0,
        hang_up_after=7,
        check_scopes=True,
        pin_api_domain=False,
        token_expiry="legacy_ms",
        max_concurrency=10,
        shuffle_write_results=True,
        # Zoho's result echoes "the first mapped columns", how many it does not say: three here.
        write_results_echo_columns=3,
        # drop_write_result_rows stays 0: a result missing rows is a fault to test against, not
        # something Zoho is known to do.
    ),
}


def resolve_realism(realism: RealismName | Realism, overrides: dict[str, Any]) -> Realism:
    """The preset (or given ``Realism``) with every override that is not None applied."""
    if isinstance(realism, Realism):
        base = realism
    else:
        try:
            base = REALISM_PRESETS[realism]
        except KeyError:
            raise ValueError(
                f"realism must be one of {sorted(REALISM_PRESETS)} or a Realism, got {realism!r}"
            ) from None
    changes = {name: value for name, value in overrides.items() if value is not None}
    return dataclasses.replace(base, **changes) if changes else base
