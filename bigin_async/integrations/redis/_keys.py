"""The names of one organisation's keys in Redis: one family per org and data centre, one slot.

Every key of a family starts with the same Redis Cluster hash tag (``{bigin:default:us}``), so on a
cluster they all live in one hash slot and every script, which touches several of them at once,
runs on one node. Scripts are given every key they touch (Redis asks that of scripts on a cluster):
none builds a key name of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bigin_async._config import Settings
from bigin_async.errors import ConfigurationError

__all__ = ["KeyFamily", "datacenter_of"]

# What a namespace or org may be: no braces (they would break the hash tag), no spaces or colons.
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def _checked(what: str, value: object) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ConfigurationError(
            f"{what} must be 1 to 64 letters, digits, '_', '.' or '-' (it names Redis keys), got {value!r}"
        )
    return value


@dataclass(frozen=True)
class KeyFamily:
    """The keys of one org in one data centre: ``{namespace:org:datacenter}:part:...``."""

    namespace: str
    org: str
    datacenter: str

    def __post_init__(self) -> None:
        _checked("namespace", self.namespace)
        _checked("org", self.org)
        if not self.datacenter or any(c in self.datacenter for c in "{} \n\r\t"):
            raise ConfigurationError(f"datacenter {self.datacenter!r} cannot name a Redis key")

    @property
    def tag(self) -> str:
        """The hash tag every key of the family starts with."""
        return "{" + f"{self.namespace}:{self.org}:{self.datacenter}" + "}"

    def key(self, *parts: str) -> str:
        """``family.key("gate", "leases")`` → ``{bigin:default:us}:gate:leases``."""
        return ":".join((self.tag, *parts))


def datacenter_of(settings: Settings) -> str:
    """The data centre a client's calls go to: its region's code, or the host (and port) of a pinned
    ``api_domain`` (a proxy, the emulator), so two emulators on two ports keep two families."""
    if not settings.api_domain_overridden:
        return settings.region.code
    parts = urlsplit(settings.api_domain)
    host = parts.hostname or settings.api_domain
    return f"{host}:{parts.port}" if parts.port is not None else host
