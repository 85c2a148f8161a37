"""Small pieces every command shares: the usage error, module names, connecting a client."""

from __future__ import annotations

import argparse
import re
from typing import Any

from bigin_async.client import BiginClient
from bigin_async.errors import ConfigurationError

__all__ = [
    "EMULATOR_CREDENTIALS",
    "EMULATOR_URL",
    "UsageError",
    "client_from_args",
    "module_api_name",
]

# What `bigin emulator` (BiginEmulator's defaults) accepts; `--emulator` logs in with these.
EMULATOR_CREDENTIALS = {
    "client_id": "emulator-client-id",
    "client_secret": "emulator-client-secret",
    "refresh_token": "emulator-refresh-token",
}
EMULATOR_URL = "http://127.0.0.1:8787"

# The names people type, mapped to Bigin's API names (which are case-sensitive on the wire).
_MODULE_NAMES = {
    "contacts": "Contacts",
    "companies": "Accounts",
    "accounts": "Accounts",
    "deals": "Pipelines",
    "pipelines": "Pipelines",
    "tasks": "Tasks",
    "events": "Events",
    "notes": "Notes",
    "products": "Products",
    "calls": "Calls",
}
_MODULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


class UsageError(Exception):
    """A mistake on the command line or in the input file's shape: exit code 2, nothing sent."""


def module_api_name(name: str) -> str:
    """``contacts``/``Companies``/``deals`` → ``Contacts``/``Accounts``/``Pipelines``; custom names as given."""
    known = _MODULE_NAMES.get(name.casefold())
    if known is not None:
        return known
    if not _MODULE.match(name):
        raise UsageError(f"{name!r} is not a module name")
    return name


def client_from_args(args: argparse.Namespace) -> BiginClient:
    """A client from ``--emulator [URL]`` or from the ``BIGIN_*`` environment variables."""
    overrides: dict[str, Any] = {}
    if getattr(args, "max_concurrency", None):
        overrides["max_concurrency"] = args.max_concurrency
    if getattr(args, "requests_per_minute", None):
        overrides["requests_per_minute"] = args.requests_per_minute
    emulator = getattr(args, "emulator", None)
    if emulator:
        return BiginClient(
            api_domain=emulator,
            accounts_url=emulator,
            client_id=EMULATOR_CREDENTIALS["client_id"],
            client_secret=EMULATOR_CREDENTIALS["client_secret"],
            refresh_token=EMULATOR_CREDENTIALS["refresh_token"],
            **overrides,
        )
    try:
        return BiginClient.from_env(**overrides)
    except ConfigurationError as error:
        raise ConfigurationError(
            f"{error}. Set BIGIN_CLIENT_ID, BIGIN_CLIENT_SECRET and BIGIN_REFRESH_TOKEN (and BIGIN_REGION), "
            "or pass --emulator URL to use a `bigin emulator`."
        ) from None
