"""Small pieces every command shares: the usage error, module names, connecting a client."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bigin_async._config import resolve_region
from bigin_async._coordination import Coordination
from bigin_async._redact import get_logger
from bigin_async.auth import FileTokenStore
from bigin_async.client import BiginClient, _missing_credentials, _redis_from_env
from bigin_async.errors import ConfigurationError, UsageError
from bigin_async.models.modules import MODULES, quoted_module_name

logger = get_logger("cli")

__all__ = [
    "EMULATOR_CREDENTIALS",
    "EMULATOR_URL",
    "TOKEN_DIR_NAME",
    "UsageError",
    "client_from_args",
    "coordination_for",
    "default_token_dir",
    "module_api_name",
    "token_file_name",
    "token_store_for",
]

# What `bigin emulator` (BiginEmulator's defaults) accepts; `--emulator` logs in with these.
EMULATOR_CREDENTIALS = {
    "client_id": "emulator-client-id",
    "client_secret": "emulator-client-secret",
    "refresh_token": "emulator-refresh-token",
}
EMULATOR_URL = "http://127.0.0.1:8787"
TOKEN_DIR_NAME = "bigin-async"

# The names people type, mapped to Bigin's API names (which are case-sensitive on the wire): each
# module of the one module table by its client attribute (``companies``), its API name (``accounts``)
# and its alias (``deals``), lower-cased.
_MODULE_NAMES = {
    key.casefold(): spec.api_name
    for spec in MODULES
    for key in (spec.name, spec.api_name, spec.alias)
    if key is not None
}
_MODULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def module_api_name(name: str) -> str:
    """``contacts``/``Companies``/``deals`` → ``Contacts``/``Accounts``/``Pipelines``; others as given.

    Spaces around the name are dropped (``'Contacts '`` pasted from a sheet is Contacts); a name
    that is still no module name is quoted cut short, as a pasted paragraph would be.
    """
    name = name.strip()
    known = _MODULE_NAMES.get(name.casefold())
    if known is not None:
        return known
    if not _MODULE.match(name):
        raise UsageError(f"{quoted_module_name(name)} is not a module name")
    return name


def default_token_dir(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> Path:
    """The per-user directory where the CLI keeps access tokens between runs.

    A cache directory, because losing the file costs only one refresh: ``$XDG_CACHE_HOME`` (or
    ``~/.cache``) on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows.
    """
    env = os.environ if environ is None else environ
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    if platform.startswith("win"):
        local = env.get("LOCALAPPDATA")
        root = Path(local) if local else Path(env.get("USERPROFILE") or Path.home()) / "AppData" / "Local"
    elif platform == "darwin":
        root = home / "Library" / "Caches"
    else:
        xdg = env.get("XDG_CACHE_HOME", "")
        root = (
            Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".cache"
        )  # XDG: relative values are ignored
    return root / TOKEN_DIR_NAME


def token_file_name(client_id: str, region: str, accounts_url: str) -> str:
    """``token-us-<hash>.json``: one file per Zoho client and data centre (a client registered in one
    data centre is unknown to the others). The client id is hashed: file names show up in listings."""
    digest = hashlib.sha256(f"{client_id}\n{accounts_url}".encode()).hexdigest()[:16]
    return f"token-{region}-{digest}.json"


def _private_dir(directory: Path) -> None:
    """Create ``directory`` readable by its owner only (0700), tightening it if it already exists."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix" and stat.S_IMODE(directory.stat().st_mode) & 0o077:
        os.chmod(directory, 0o700)


def token_store_for(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None, *, shared: bool = False
) -> FileTokenStore | None:
    """The token file of a run against Zoho: ``--token-file``, else ``BIGIN_TOKEN_FILE``, else the
    per-user default. Zoho lets a refresh token mint 10 access tokens in 10 minutes, so a command
    run more often than that must reuse the token of the run before.

    ``None`` when there is nothing to refresh (a bare ``BIGIN_ACCESS_TOKEN``), or when the default
    directory cannot be written (a read-only home): the run then refreshes once, in memory; or,
    with ``shared`` (the run shares its limits through Redis), when no file was named: the token is
    then kept in Redis with the limits, for every process.
    """
    env = os.environ if environ is None else environ
    client_id = env.get("BIGIN_CLIENT_ID")
    if not client_id or not env.get("BIGIN_REFRESH_TOKEN"):
        return None
    explicit = getattr(args, "token_file", None)
    if explicit:
        path = Path(explicit).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"--token-file {path}: cannot create its directory ({error.strerror})") from None
        return FileTokenStore(path)
    if env.get("BIGIN_TOKEN_FILE"):
        return FileTokenStore(Path(env["BIGIN_TOKEN_FILE"]).expanduser())
    if shared:
        return None
    region = resolve_region(env.get("BIGIN_REGION") or "us")
    accounts_url = (env.get("BIGIN_ACCOUNTS_URL") or region.accounts_url).rstrip("/")
    directory = default_token_dir(env)
    try:
        _private_dir(directory)
    except OSError as error:
        logger.warning(
            "cannot use %s for the access token (%s); this run refreshes it in memory "
            "(pass --token-file PATH to keep it elsewhere)",
            directory,
            error.strerror,
            extra={"bigin_event": "token_file_unusable"},
        )
        return None
    return FileTokenStore(directory / token_file_name(client_id, region.code, accounts_url))


def coordination_for(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> Coordination | None:
    """``--redis URL`` (else ``BIGIN_REDIS_URL``) and ``--redis-namespace``: the org's limits and
    token shared through Redis with every other process pointed at it (``BIGIN_REDIS_ORG``,
    ``BIGIN_REDIS_ON_DOWN`` and ``BIGIN_REDIS_PROCESSES`` apply too). None: this run keeps its own."""
    env = dict(os.environ if environ is None else environ)
    url = getattr(args, "redis", None) or env.get("BIGIN_REDIS_URL")
    namespace = getattr(args, "redis_namespace", None)
    if not url:
        if namespace:
            raise UsageError("--redis-namespace needs --redis URL (or BIGIN_REDIS_URL)")
        return None
    if namespace:
        env["BIGIN_REDIS_NAMESPACE"] = namespace
    return _redis_from_env(
        url, env, given_by="--redis" if getattr(args, "redis", None) else "BIGIN_REDIS_URL"
    )


def client_from_args(args: argparse.Namespace, **client_options: Any) -> BiginClient:
    """A client from ``--emulator [URL]`` or from the ``BIGIN_*`` environment variables.

    Against Zoho the access token is kept in a token file between runs (see
    :func:`token_store_for`); against an emulator nothing is written unless ``--token-file`` says
    where. ``--content-domain`` (else ``BIGIN_CONTENT_DOMAIN``) names the file host Bulk Write
    uploads go to: Zoho's is derived from the data centre, an emulator's must be given.
    ``--redis URL`` shares the org's limits and token with other processes (see
    :func:`coordination_for`). ``client_options`` go to :class:`BiginClient` as they are (tests
    pass a transport).
    """
    overrides: dict[str, Any] = {}
    if getattr(args, "max_concurrency", None):
        overrides["max_concurrency"] = args.max_concurrency
    if getattr(args, "requests_per_minute", None):
        overrides["requests_per_minute"] = args.requests_per_minute
    content_domain = getattr(args, "content_domain", None) or (
        os.environ.get("BIGIN_CONTENT_DOMAIN") if getattr(args, "emulator", None) else None
    )
    if content_domain:
        overrides["content_domain"] = content_domain
    overrides.update(client_options)
    if "coordination" not in overrides:
        coordination = coordination_for(args)
        if coordination is not None:
            overrides["coordination"] = coordination
    emulator = getattr(args, "emulator", None)
    if emulator:
        token_file = getattr(args, "token_file", None)
        if token_file and "token_store" not in overrides:
            overrides["token_store"] = FileTokenStore(Path(token_file).expanduser())
        return BiginClient(
            api_domain=emulator,
            accounts_url=emulator,
            client_id=EMULATOR_CREDENTIALS["client_id"],
            client_secret=EMULATOR_CREDENTIALS["client_secret"],
            refresh_token=EMULATOR_CREDENTIALS["refresh_token"],
            **overrides,
        )
    if "token_store" not in overrides:
        store = token_store_for(args, shared="coordination" in overrides)
        if store is not None:
            overrides["token_store"] = store
    # Missing credentials are named as variables, with the way to run without any (an emulator).
    given = {name: os.environ.get(variable) for name, variable in BiginClient.environment_variables().items()}
    problem = _missing_credentials(
        {**given, **overrides}, otherwise="pass --emulator URL to use a `bigin emulator`"
    )
    if problem is not None:
        raise ConfigurationError(problem)
    return BiginClient.from_env(**overrides)
