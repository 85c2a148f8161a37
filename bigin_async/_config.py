"""Data centres, edition presets and the validated, frozen settings of a client.

Every setting is checked once, at construction, with an error that names the setting: a wrong
region or a negative limit must fail before the first request, not as a 404 an hour later.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from bigin_async.errors import ConfigurationError

__all__ = [
    "Edition",
    "EditionLimits",
    "Region",
    "Settings",
    "check_base_url",
    "content_domain_for",
    "is_loopback",
    "resolve_region",
]


@dataclass(frozen=True)
class Region:
    """One Zoho data centre: where the API lives and where OAuth tokens come from."""

    code: str
    name: str
    api_domain: str
    accounts_url: str


_REGIONS: tuple[Region, ...] = (
    Region("us", "US", "https://www.zohoapis.com", "https://accounts.zoho.com"),
    Region("eu", "Europe", "https://www.zohoapis.eu", "https://accounts.zoho.eu"),
    Region("in", "India", "https://www.zohoapis.in", "https://accounts.zoho.in"),
    Region("au", "Australia", "https://www.zohoapis.com.au", "https://accounts.zoho.com.au"),
    Region("jp", "Japan", "https://www.zohoapis.jp", "https://accounts.zoho.jp"),
    # Zoho's pages give accounts.zohocloud.ca for Canada (not accounts.zoho.ca): follow Zoho.
    Region("ca", "Canada", "https://www.zohoapis.ca", "https://accounts.zohocloud.ca"),
    Region("sa", "Saudi Arabia", "https://www.zohoapis.sa", "https://accounts.zoho.sa"),
    Region("cn", "China", "https://www.zohoapis.com.cn", "https://accounts.zoho.com.cn"),
)

# Every spelling users type: the short code, the domain suffix, the friendly name.
_SUFFIX = {
    "us": "com",
    "eu": "eu",
    "in": "in",
    "au": "com.au",
    "jp": "jp",
    "ca": "ca",
    "sa": "sa",
    "cn": "com.cn",
}
_ALIASES: dict[str, Region] = {}
for _region in _REGIONS:
    for _alias in (_region.code, _SUFFIX[_region.code], _region.name, _region.name.replace(" ", "")):
        _ALIASES[_alias.lower()] = _region
_ALIASES["usa"] = _ALIASES["us"]
_ALIASES["ksa"] = _ALIASES["sa"]
REGIONS: dict[str, Region] = {r.code: r for r in _REGIONS}


def resolve_region(value: str | Region) -> Region:
    """Map "us", "com", "US", "Europe", "com.au", "Canada", ... to its data centre (case insensitive)."""
    if isinstance(value, Region):
        return value
    if not isinstance(value, str):
        raise ConfigurationError(f"region must be a string, not {type(value).__name__}")
    key = value.strip().lower().lstrip(".")
    try:
        return _ALIASES[key]
    except KeyError:
        known = ", ".join(f"{r.code} ({r.name})" for r in _REGIONS)
        raise ConfigurationError(f"unknown region {value!r}; expected one of: {known}") from None


@dataclass(frozen=True)
class EditionLimits:
    """One edition's figures: the SDK's own pacing presets, then Zoho's documented credits.

    ``requests_per_minute``, ``daily_limit`` and ``bulk_operations_per_minute`` are the SDK's
    presets (what ``edition=`` sets; Zoho documents no per-minute quota). ``zoho_daily_credits``,
    ``zoho_credits_per_user`` and ``zoho_credits_cap`` are Zoho's API-limits page: credits per
    rolling 24 hours, a base plus so many per user licence, at most the cap
    (:meth:`zoho_credits`). The defaults of the Zoho figures are the paid editions'.
    """

    requests_per_minute: int
    daily_limit: int
    bulk_operations_per_minute: int
    zoho_daily_credits: int = 50_000
    zoho_credits_per_user: int = 250
    zoho_credits_cap: int = 100_000

    def zoho_credits(self, users: int) -> int:
        """Zoho's credits per rolling 24 hours for an org with ``users`` user licences."""
        if isinstance(users, bool) or not isinstance(users, int) or users < 0:
            raise ConfigurationError(f"users must be a whole number >= 0, got {users!r}")
        return min(self.zoho_credits_cap, self.zoho_daily_credits + self.zoho_credits_per_user * users)


class Edition(str, enum.Enum):
    """Bigin's editions and the call limits this SDK presets for each (``edition="premier"``).

    The SDK's presets, per minute and per day: Free 10 and 5,000, Express 10 and 5,000, Premier
    20 and 15,000, Enterprise 30 and 25,000, 10 bulk writes a minute. They are not Zoho's
    figures: Zoho counts credits per rolling 24 hours (Free 5,000; Express, Premier and Zoho One
    50,000 + 250 per user licence, at most 100,000; ``limits.zoho_credits(users)``) and
    documents no per-minute quota, so the presets stay on the safe side. Pass
    ``requests_per_minute`` or ``daily_limit`` to use your org's own figures. Enterprise is not
    on Zoho's credits page: it is given the paid editions' credits.
    """

    FREE = "free"
    EXPRESS = "express"
    PREMIER = "premier"
    ENTERPRISE = "enterprise"

    @property
    def limits(self) -> EditionLimits:
        return _EDITION_LIMITS[self]


_EDITION_LIMITS = {
    # Free: Zoho's 5,000 credits a day, and no more per user.
    Edition.FREE: EditionLimits(
        10, 5_000, 10, zoho_daily_credits=5_000, zoho_credits_per_user=0, zoho_credits_cap=5_000
    ),
    Edition.EXPRESS: EditionLimits(10, 5_000, 10),
    Edition.PREMIER: EditionLimits(20, 15_000, 10),
    Edition.ENTERPRISE: EditionLimits(30, 25_000, 10),
}


def is_loopback(host: str) -> bool:
    """Whether a host name is this machine (the only place plain http is allowed)."""
    if host in ("localhost", "testserver"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(name: str, url: str) -> str:
    """Validate an ``api_domain``/``accounts_url`` override: https, or http on loopback only."""
    parts = urlsplit(url)
    if "@" in parts.netloc:  # not echoed: it may be a password
        # ``https://content.zohoapis.com@evil.example`` reads as Zoho's host and is evil.example's.
        raise ConfigurationError(
            f"{name} must not carry a user name or password (the part before '@'); the access token "
            f"is the only credential sent. Give the host alone: {parts.scheme}://{parts.hostname}"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{name} must be an absolute http(s) URL, got {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{name} uses plain http on a non-loopback host ({parts.hostname}); tokens would travel "
            "unencrypted. Use https, or http only for 127.0.0.1/localhost (the emulator)."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{name} must not carry a query or fragment: {url!r}")
    return url.rstrip("/")


def content_domain_for(api_domain: str) -> str | None:
    """The data centre's file host for an API domain: ``https://www.zohoapis.X`` (or
    ``https://zohoapis.X``) → ``https://content.zohoapis.X``; None for any other host.

    Bulk Write uploads go to that host, not to the API's: it is the only other place the token
    is sent. A loopback or custom API domain (the emulator, a proxy) has no known file host, so
    ``content_domain`` must be set for it.
    """
    parts = urlsplit(api_domain)
    host = parts.hostname or ""
    if parts.scheme != "https" or parts.username is not None or parts.password is not None:
        return None
    for prefix in ("www.zohoapis.", "zohoapis."):
        if host.startswith(prefix) and len(host) > len(prefix):
            port = f":{parts.port}" if parts.port is not None else ""
            return f"https://content.zohoapis.{host[len(prefix) :]}{port}"
    return None


def _positive(name: str, value: float | None, *, allow_zero: bool = False, integer: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number, not {type(value).__name__}")
    if integer and not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an integer, got {value!r}")
    if math.isnan(value) or math.isinf(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigurationError(f"{name} must be {bound}, got {value!r}")


@dataclass(frozen=True)
class Settings:
    """Everything that shapes the pipeline's behaviour; frozen so views can share it safely.

    What :attr:`BiginClient.config <bigin_async.BiginClient.config>` returns (exported as
    ``bigin_async.Settings``): read it to see the limits, retries and bounds a client runs with;
    change them with ``BiginClient(...)`` arguments or ``client.with_options(...)``.
    """

    region: Region
    api_domain: str
    accounts_url: str
    api_domain_overridden: bool = False
    # The data centre's file host (Bulk Write uploads); None: derived from the API domain in use.
    content_domain: str | None = None
    edition: Edition | None = None
    max_concurrency: int = 10
    requests_per_minute: int | None = None
    daily_limit: int | None = None
    min_calls_remaining: int = 1
    bulk_operations_per_minute: int | None = None
    max_retries: int = 5
    retry_backoff_seconds: float = 0.5
    max_retry_after: float = 180.0
    intercall_delay: float = 0.0
    timeout: float = 30.0
    deadline: float | None = None
    latency_allowance: float = 2.0

    def __post_init__(self) -> None:
        if self.content_domain is not None:  # checked here, so with_options checks it too
            if not isinstance(self.content_domain, str):
                raise ConfigurationError(
                    f"content_domain must be a string, not {type(self.content_domain).__name__}"
                )
            domain = check_base_url("content_domain", self.content_domain)
            # The host, not an upload URL: the SDK adds /bigin/v2/upload itself, so a URL that
            # already ends in it would send every Bulk Write part to .../bigin/v2/upload/bigin/v2/upload.
            for tail in ("/bigin/v2/upload", "/bigin/v2"):
                if domain.endswith(tail):
                    raise ConfigurationError(
                        f"content_domain is the file host alone, without {tail} (the SDK adds the path): "
                        f"give {domain[: -len(tail)]!r}"
                    )
            object.__setattr__(self, "content_domain", domain)
        _positive("max_concurrency", self.max_concurrency, integer=True)
        _positive("requests_per_minute", self.requests_per_minute, integer=True)
        _positive("daily_limit", self.daily_limit, integer=True)
        _positive("min_calls_remaining", self.min_calls_remaining, allow_zero=True, integer=True)
        _positive("bulk_operations_per_minute", self.bulk_operations_per_minute, integer=True)
        _positive("max_retries", self.max_retries, allow_zero=True, integer=True)
        _positive("retry_backoff_seconds", self.retry_backoff_seconds, allow_zero=True)
        _positive("max_retry_after", self.max_retry_after, allow_zero=True)
        _positive("intercall_delay", self.intercall_delay, allow_zero=True)
        _positive("timeout", self.timeout)
        _positive("deadline", self.deadline)
        _positive("latency_allowance", self.latency_allowance, allow_zero=True)

    @property
    def api_base(self) -> str:
        return f"{self.api_domain}/bigin/v2"

    @property
    def token_url(self) -> str:
        return f"{self.accounts_url}/oauth/v2/token"

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def build_settings(
    *,
    region: str | Region = "us",
    api_domain: str | None = None,
    accounts_url: str | None = None,
    content_domain: str | None = None,
    edition: str | Edition | None = None,
    max_concurrency: int = 10,
    requests_per_minute: int | None = None,
    daily_limit: int | None = None,
    min_calls_remaining: int = 1,
    bulk_operations_per_minute: int | None = None,
    max_retries: int = 5,
    retry_backoff_seconds: float = 0.5,
    max_retry_after: float = 180.0,
    intercall_delay: float = 0.0,
    timeout: float = 30.0,
    deadline: float | None = None,
    latency_allowance: float = 2.0,
) -> Settings:
    """Resolve region and edition presets, apply explicit numbers over the presets, validate."""
    resolved = resolve_region(region)
    preset: Edition | None = None
    if edition is not None:
        try:
            preset = Edition(edition.lower() if isinstance(edition, str) else edition)
        except ValueError:
            raise ConfigurationError(
                f"unknown edition {edition!r}; expected one of: {', '.join(e.value for e in Edition)}"
            ) from None
    if preset is not None:
        limits = preset.limits
        requests_per_minute = (
            requests_per_minute if requests_per_minute is not None else limits.requests_per_minute
        )
        daily_limit = daily_limit if daily_limit is not None else limits.daily_limit
        if bulk_operations_per_minute is None:
            bulk_operations_per_minute = limits.bulk_operations_per_minute
    return Settings(
        region=resolved,
        api_domain=check_base_url("api_domain", api_domain) if api_domain else resolved.api_domain,
        accounts_url=check_base_url("accounts_url", accounts_url) if accounts_url else resolved.accounts_url,
        api_domain_overridden=api_domain is not None,
        content_domain=content_domain,
        edition=preset,
        max_concurrency=max_concurrency,
        requests_per_minute=requests_per_minute,
        daily_limit=daily_limit,
        min_calls_remaining=min_calls_remaining,
        bulk_operations_per_minute=bulk_operations_per_minute,
        max_retries=max_retries,
        retry_backoff_seconds=retry_backoff_seconds,
        max_retry_after=max_retry_after,
        intercall_delay=intercall_delay,
        timeout=timeout,
        deadline=deadline,
        latency_allowance=latency_allowance,
    )
