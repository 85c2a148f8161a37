"""``BiginClient``: one pooled transport, one token manager, one set of limits, many module clients.

Create one per process and share it between tasks: the pool, the concurrency gate and the rate
limits only protect you if every call goes through the same client.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import math
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, Generic, TypeVar, overload

import httpx
from pydantic import SecretStr
from typing_extensions import Self

from bigin_async._config import Edition, Region, Settings, build_settings
from bigin_async._coordination import Coordination
from bigin_async._inputs import check_module_name
from bigin_async._lifecycle import AsyncClosing
from bigin_async._limits import CreditsReport
from bigin_async._redact import get_logger
from bigin_async._transport import Transport
from bigin_async._types import UNCHANGED, NotGiven
from bigin_async.auth import FileTokenStore, TokenManager, TokenStore
from bigin_async.auth._token import check_credential
from bigin_async.errors import ConfigurationError
from bigin_async.hooks import EventHook, EventHooks
from bigin_async.models import FieldInfo, Record
from bigin_async.models.modules import MODULES, api_name, module_spec
from bigin_async.pagination import AsyncPaginator, ProgressCallback
from bigin_async.resources._base import json_body, send_and_parse
from bigin_async.resources.base import ModuleClient
from bigin_async.resources.bulk_jobs import BulkJobsClient
from bigin_async.resources.calls import CallsClient
from bigin_async.resources.channels import NotificationsClient
from bigin_async.resources.companies import CompaniesClient
from bigin_async.resources.contacts import ContactsClient
from bigin_async.resources.coql import CoqlClient
from bigin_async.resources.deals import DealsClient
from bigin_async.resources.events import EventsClient
from bigin_async.resources.files import FilesClient
from bigin_async.resources.notes import NotesClient
from bigin_async.resources.org import OrgClient, UsersClient
from bigin_async.resources.pipelines import PipelinesClient
from bigin_async.resources.products import ProductsClient
from bigin_async.resources.settings import SettingsClient
from bigin_async.resources.tags import TagsClient
from bigin_async.resources.tasks import TasksClient
from bigin_async.stats import ClientStats

logger = get_logger("config")

__all__ = ["BiginClient", "module_client_classes"]

C = TypeVar("C", bound=ModuleClient[Any])

# The keywords of build_settings, the one list of the settings (``__init__`` passes them through).
_SETTINGS_KEYWORDS = tuple(inspect.signature(build_settings).parameters)
_CREDENTIAL_VARIABLES = ("BIGIN_CLIENT_ID", "BIGIN_CLIENT_SECRET", "BIGIN_REFRESH_TOKEN")
# Read by from_env besides the keywords' own variables (they build objects, not settings).
_OTHER_VARIABLES = (
    "BIGIN_TOKEN_FILE",
    "BIGIN_REDIS_URL",
    "BIGIN_REDIS_NAMESPACE",
    "BIGIN_REDIS_ORG",
    "BIGIN_REDIS_ON_DOWN",
    "BIGIN_REDIS_PROCESSES",
)
_NONE_WORDS = frozenset({"none", "null"})
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})
# Mistyped variables already logged (once a process: a web app may call from_env per request).
_WARNED_VARIABLES: set[str] = set()


def _secret(name: str, value: str | SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a non-empty string")
    return SecretStr(check_credential(name, value))  # a stray character: said now, value unshown


class _ModuleAttribute(Generic[C]):
    """``bigin.contacts``: the client of one module of the module table, made once per client.

    The attribute's name is the table entry's ``name`` and its class serves that entry's API
    name (checked when ``BiginClient`` is defined), so the table and the client cannot drift.
    """

    def __init__(self, client_class: type[C]) -> None:
        self.client_class = client_class
        self.__doc__ = client_class.__doc__
        self.name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        spec = module_spec(self.client_class.module_api_name)
        if spec is None or spec.name != name:
            raise TypeError(
                f"{owner.__name__}.{name}: {self.client_class.__name__} serves "
                f"{self.client_class.module_api_name!r}, whose module table entry is "
                f"{spec.name if spec else 'missing'!r}"
            )
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> _ModuleAttribute[C]: ...

    @overload
    def __get__(self, instance: BiginClient, owner: type[Any]) -> C: ...

    def __get__(self, instance: BiginClient | None, owner: type[Any]) -> _ModuleAttribute[C] | C:
        if instance is None:
            return self
        client = self.client_class(instance.transport, instance)
        instance.__dict__[self.name] = client  # later reads find it there, without this call
        return client


class BiginClient(AsyncClosing):
    """The async client for the Zoho Bigin API v2.

    Credentials: ``client_id`` + ``client_secret`` + ``refresh_token`` (refreshes by itself), or
    ``access_token`` (+ ``expires_in`` seconds) for a token obtained elsewhere. Limits: the
    concurrency gate (``max_concurrency``, default 10) always applies; per-minute and per-day
    caps apply when an ``edition`` or explicit numbers set them (Zoho documents none itself).
    ``latency_allowance`` (2 s) is how late a call may reach Zoho after it left: the per-minute
    pace leaves that much room so that no rolling minute, as Zoho counts arrivals, holds more than
    the cap; raise it on a slow or jittery link. ``coordination`` shares the limits and the token
    with other processes (``bigin_async.integrations.redis.RedisCoordination``). ``event_hooks``
    (``{"retry_scheduled": [hook], ...}``, as httpx's) calls your functions, plain or async, as
    calls start, are sent, are answered, are retried and end, as Zoho answers 429, as the token is
    refreshed, as the day's credits run low and as a bulk batch is done (:mod:`bigin_async.hooks`);
    :meth:`stats` sums it all up.

    Use it as ``async with BiginClient(...) as bigin:`` or call :meth:`aclose` when done.
    """

    def __init__(
        self,
        *,
        client_id: str | SecretStr | None = None,
        client_secret: str | SecretStr | None = None,
        refresh_token: str | SecretStr | None = None,
        access_token: str | SecretStr | None = None,
        expires_in: float | None = None,
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
        deadline: float | None = 300.0,
        latency_allowance: float = 2.0,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        token_store: TokenStore | None = None,
        coordination: Coordination | None = None,
        event_hooks: EventHooks | None = None,
    ) -> None:
        passed = locals()
        # The settings keywords are build_settings' (checked to be ours when this module loads).
        settings = build_settings(**{name: passed[name] for name in _SETTINGS_KEYWORDS})
        secrets = {
            "client_id": _secret("client_id", client_id),
            "client_secret": _secret("client_secret", client_secret),
            "refresh_token": _secret("refresh_token", refresh_token),
        }
        bare = _secret("access_token", access_token)
        given = [name for name, value in secrets.items() if value is not None]
        if given and len(given) != 3:
            missing = sorted(set(secrets) - set(given))
            raise ConfigurationError(
                "refresh-token mode needs client_id, client_secret and refresh_token; "
                f"missing: {', '.join(missing)}"
            )
        if not given and bare is None:
            raise ConfigurationError(
                "no credentials: pass client_id, client_secret and refresh_token, or an access_token "
                "(with expires_in), or use BiginClient.from_env() with BIGIN_* variables"
            )
        _check_expires_in(expires_in)
        if expires_in is not None and bare is None:
            raise ConfigurationError("expires_in only makes sense with access_token")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ConfigurationError("http_client must be an httpx.AsyncClient")
        if token_store is not None and not isinstance(token_store, TokenStore):
            raise ConfigurationError(
                "token_store must implement load/save/clear/lock (the TokenStore protocol)"
            )
        if coordination is not None and not isinstance(coordination, Coordination):
            raise ConfigurationError(
                "coordination must share limits and a token store (e.g. "
                "bigin_async.integrations.redis.RedisCoordination), "
                f"not {type(coordination).__name__}"
            )
        if coordination is not None and token_store is None:
            token_store = coordination.token_store()
        tokens = TokenManager(
            token_url=settings.token_url,
            client_id=secrets["client_id"],
            client_secret=secrets["client_secret"],
            refresh_token=secrets["refresh_token"],
            access_token=bare,
            expires_in=expires_in,
            store=token_store,
            timeout=settings.timeout,
            retry_backoff=settings.retry_backoff_seconds,
        )
        self._transport = Transport.create(
            settings,
            tokens,
            http_client=http_client,
            http_transport=transport,
            limits=coordination.limits(settings) if coordination is not None else None,
            event_hooks=event_hooks,
        )
        self._coordination = coordination
        self._is_view = False
        self._field_cache: dict[str, list[FieldInfo]] = {}
        self._modules: dict[str, ModuleClient[Any]] = {}

    # -- construction helpers ----------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Build from ``BIGIN_*`` variables (keyword overrides win).

        Every keyword of the constructor that is a string or a number has its variable, its name
        in capitals: BIGIN_CLIENT_ID, BIGIN_CLIENT_SECRET, BIGIN_REFRESH_TOKEN (or
        BIGIN_ACCESS_TOKEN with BIGIN_EXPIRES_IN), BIGIN_REGION, BIGIN_API_DOMAIN,
        BIGIN_ACCOUNTS_URL, BIGIN_CONTENT_DOMAIN, BIGIN_EDITION, BIGIN_MAX_CONCURRENCY,
        BIGIN_REQUESTS_PER_MINUTE, BIGIN_DAILY_LIMIT, BIGIN_MIN_CALLS_REMAINING,
        BIGIN_BULK_OPERATIONS_PER_MINUTE, BIGIN_MAX_RETRIES, BIGIN_RETRY_BACKOFF_SECONDS,
        BIGIN_MAX_RETRY_AFTER, BIGIN_INTERCALL_DELAY, BIGIN_TIMEOUT, BIGIN_DEADLINE,
        BIGIN_LATENCY_ALLOWANCE (:meth:`environment_variables` lists them). Besides:
        BIGIN_TOKEN_FILE (a :class:`FileTokenStore` path shared by processes),
        BIGIN_REDIS_URL (a ``RedisCoordination``: the org's limits and token shared by every process
        using that Redis; needs ``pip install 'bigin-async[redis]'``), with BIGIN_REDIS_NAMESPACE,
        BIGIN_REDIS_ORG, BIGIN_REDIS_ON_DOWN (``fail`` or ``local``) and BIGIN_REDIS_PROCESSES
        (the process count the ``local`` fallback divides the limits by).

        How values read: an empty (or blank) variable is unset, so the keyword's default applies,
        and so is a variable whose keyword is also passed (the keyword wins, the variable is not
        read); a value refused (``BIGIN_TIMEOUT=-1``, ``nan``, an unknown region) is an error that
        names its variable;
        ``none`` gives None to a number that may be None (``BIGIN_DEADLINE=none``: no deadline for
        the whole call; ``BIGIN_DAILY_LIMIT=none``: no daily cap); whole numbers must be whole
        (``BIGIN_MAX_RETRIES=2``); a yes/no setting takes ``true``/``false``, ``1``/``0``,
        ``yes``/``no`` or ``on``/``off``. Without credentials the error names the variables to
        set; a ``BIGIN_*`` variable that looks like a misspelt one (``BIGIN_DEADLNE``) is logged
        once, as a warning naming the variable meant.
        """
        env = os.environ if environ is None else environ
        _warn_misspelt(env)
        kwargs: dict[str, Any] = {}
        for name, (variable, read) in _variable_readers().items():
            raw = env.get(variable)
            if raw is None or not raw.strip() or name in overrides:  # an override wins, unread
                continue
            try:
                kwargs[name] = _checked(name, variable, read(variable, raw))
            except ConfigurationError as error:
                raise _masked(error, env) from None
        problem = _missing_credentials({**kwargs, **overrides}, otherwise="pass them as keywords")
        if problem is not None:
            raise ConfigurationError(problem)
        token_file = env.get("BIGIN_TOKEN_FILE")
        if token_file and "token_store" not in overrides:
            kwargs["token_store"] = FileTokenStore(token_file)
        redis_url = env.get("BIGIN_REDIS_URL")
        if redis_url and "coordination" not in overrides:
            kwargs["coordination"] = _redis_from_env(redis_url, env)
        kwargs.update(overrides)
        return cls(**kwargs)

    @staticmethod
    def environment_variables() -> dict[str, str]:
        """The ``BIGIN_*`` variable :meth:`from_env` reads for each keyword, by keyword
        (``{"client_id": "BIGIN_CLIENT_ID", ..., "deadline": "BIGIN_DEADLINE", ...}``).

        Derived from the constructor's signature: every keyword whose type is a string, a number
        or a yes/no has one, so a keyword added later is read without another list to update.
        """
        return {name: variable for name, (variable, _) in _variable_readers().items()}

    def with_options(
        self,
        *,
        timeout: float | NotGiven = UNCHANGED,
        max_retries: int | NotGiven = UNCHANGED,
        retry_backoff_seconds: float | NotGiven = UNCHANGED,
        max_retry_after: float | NotGiven = UNCHANGED,
        deadline: float | None | NotGiven = UNCHANGED,
        content_domain: str | None | NotGiven = UNCHANGED,
    ) -> BiginClient:
        """A view with other per-call options that shares the pool, the limiters and the tokens.

        Each keyword left out (``<unchanged>`` in the signature) keeps this client's value; each
        one given means what the constructor's keyword of that name means:

        - ``timeout`` (float, seconds): how long one attempt may take;
        - ``max_retries`` (int): attempts sent again after a 5xx, a 429 or a lost answer;
        - ``retry_backoff_seconds`` (float): the first wait between attempts (then doubled);
        - ``max_retry_after`` (float, seconds): the longest ``Retry-After`` waited for;
        - ``deadline`` (float seconds, or None for none): the bound on a whole call, retries
          included;
        - ``content_domain`` (str, or None: derived from the API domain in use): the data centre's
          file host (Bulk Write uploads); https, or http on loopback only.

        The org's limits, the region and the credentials belong to the client, not to a view, so
        they are not options here. Closing a view does nothing; close the original client.
        """
        changes = {
            name: value
            for name, value in {
                "timeout": timeout,
                "max_retries": max_retries,
                "retry_backoff_seconds": retry_backoff_seconds,
                "max_retry_after": max_retry_after,
                "deadline": deadline,
                "content_domain": content_domain,
            }.items()
            if not isinstance(value, NotGiven)
        }
        view = object.__new__(type(self))
        view._transport = self._transport.with_settings(**changes)
        view._is_view = True
        view._coordination = self._coordination
        view._field_cache = self._field_cache
        view._modules = {}
        return view

    # -- lifecycle -----------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the connection pool (idempotent). Views leave the shared pool alone."""
        if not self._is_view:
            await self._transport.aclose()

    @property
    def closed(self) -> bool:
        return self._transport.closed

    _close_advice = "use `async with BiginClient(...)` or `await client.aclose()`"

    def _left_open(self) -> bool:
        transport = self._transport
        return not self._is_view and transport.used and not transport.closed

    def __repr__(self) -> str:
        s = self._transport.settings
        shared = f"coordination={self._coordination.describe()!r}, " if self._coordination else ""
        return (
            f"BiginClient(region={s.region.code!r}, api_domain={s.api_domain!r}, "
            f"max_concurrency={s.max_concurrency}, requests_per_minute={s.requests_per_minute}, "
            f"{shared}closed={self.closed})"
        )

    # -- module clients (cached: one per client, all on the one transport) ----------------------
    # One attribute per entry of the module table (bigin_async.models.modules.MODULES).
    contacts = _ModuleAttribute(ContactsClient)
    companies = _ModuleAttribute(CompaniesClient)
    deals = _ModuleAttribute(DealsClient)
    tasks = _ModuleAttribute(TasksClient)
    events = _ModuleAttribute(EventsClient)
    notes = _ModuleAttribute(NotesClient)
    products = _ModuleAttribute(ProductsClient)
    calls = _ModuleAttribute(CallsClient)

    def module(self, name: str) -> ModuleClient[Record]:
        """The client of any module by API name, custom modules included (cached per name).

        "Companies" and "Deals" are accepted as aliases of ``Accounts`` and ``Pipelines``.
        """
        wire = check_module_name(api_name(name))
        client = self._modules.get(wire)
        if client is None:
            spec = module_spec(wire)
            if spec is not None:
                client = getattr(self, spec.name)
            else:
                client = ModuleClient(self._transport, self, wire)
            self._modules[wire] = client
        return client

    @functools.cached_property
    def pipelines(self) -> PipelinesClient:
        """Team pipelines and their stages (``/settings/pipelines`` or the Pipelines layouts)."""
        return PipelinesClient(self._transport)

    @functools.cached_property
    def settings(self) -> SettingsClient:
        """Org metadata: ``modules()``, ``fields(module)``, ``layouts(module)``, ``tags(module)``."""
        return SettingsClient(self._transport, self._field_cache)

    @functools.cached_property
    def tags(self) -> TagsClient:
        """A module's tags: ``list``, ``create``, ``update``, ``delete``, ``merge``, ``records_count``."""
        return TagsClient(self._transport)

    @functools.cached_property
    def users(self) -> UsersClient:
        return UsersClient(self._transport)

    @functools.cached_property
    def org(self) -> OrgClient:
        return OrgClient(self._transport)

    @functools.cached_property
    def files(self) -> FilesClient:
        """Zoho's Files API: ``upload(*files)`` for the ids a file-upload field takes, ``download(id)``."""
        return FilesClient(self._transport)

    @functools.cached_property
    def bulk_jobs(self) -> BulkJobsClient:
        """Bulk Write and Bulk Read jobs (500 credits for up to 25,000 records written, 50 for up
        to 200,000 read): upload, create, poll or wait, download."""
        return BulkJobsClient(self._transport)

    @functools.cached_property
    def notifications(self) -> NotificationsClient:
        """Notification channels (``/actions/watch``): enable, list, update, disable, keep alive."""
        return NotificationsClient(self._transport)

    def coql(
        self,
        query: str,
        *,
        per_page: int = 200,
        max_records: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> AsyncPaginator[Record]:
        """Rows of a COQL ``SELECT`` (200 per call, up to Zoho's 10,000), as a paginator."""
        return self._coql.query(query, per_page=per_page, max_records=max_records, on_progress=on_progress)

    @functools.cached_property
    def _coql(self) -> CoqlClient:
        return CoqlClient(self._transport)

    # -- public escape hatch -----------------------------------------------------------------
    @property
    def config(self) -> Settings:
        """The validated settings this client (or view) runs with."""
        return self._transport.settings

    @property
    def credits(self) -> CreditsReport:
        """Zoho's API credits as this client counted them: spent in the last 24 h, spent since
        it was created, and what remains of the ``daily_limit`` (or of the server's count).

        Job creation counts as Zoho counts it (a Bulk Write job 500, a Bulk Read job 50), so a
        batch can check what it cost: ``before = bigin.credits.spent_total`` ... The client and
        all of its views share one count.
        """
        return self._transport.budget.report()

    @property
    def event_hooks(self) -> dict[str, list[EventHook]]:
        """The hooks by event name (a copy; set the property to replace them all, as in httpx).

        Shared with every view of this client: a hook sees the calls of all of them.
        """
        return self._transport.events.hooks

    @event_hooks.setter
    def event_hooks(self, hooks: EventHooks) -> None:
        self._transport.events.set_hooks(hooks)

    def stats(self) -> ClientStats:
        """This client's figures now (its views' calls included): calls, attempts, retries by
        reason, 429s, refreshes, credits spent and left, the gate's queue and the waits at the gate,
        the limits and the 429 pause (p50, p99). See :class:`~bigin_async.stats.ClientStats`."""
        transport = self._transport
        collected = transport.events.stats
        credits = transport.budget.report()
        gate = transport.gate
        queue = transport.gate_queue
        return ClientStats(
            calls=collected.calls,
            in_progress=collected.in_progress,
            failed=collected.failed,
            attempts=collected.attempts,
            retries=collected.retries,
            retries_by_reason=types.MappingProxyType(dict(collected.retries_by_reason)),
            rate_limited=collected.rate_limited,
            # The token manager's own count: a refresh that ended after its caller gave up (and
            # the ones made between two calls) is counted before any call says so in an event.
            refreshes=transport.tokens.refresh_count,
            credits_spent=credits.spent_total,
            credits_spent_24h=credits.spent_24h,
            credits_left=credits.remaining,
            gate_limit=gate.limit,
            gate_in_flight=gate.in_flight,
            gate_peak=gate.peak,
            gate_queue=queue.waiting,
            gate_queue_peak=queue.peak,
            gate_wait=collected.gate_wait.snapshot(),
            limiter_wait=collected.limiter_wait.snapshot(),
            cooldown_wait=collected.cooldown_wait.snapshot(),
            call_duration=collected.call_duration.snapshot(),
            hook_errors=collected.hook_errors,
        )

    @property
    def transport(self) -> Transport:
        """The request pipeline (for advanced use and metrics: ``transport.gate.peak``)."""
        return self._transport

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Call any Bigin endpoint through the same pipeline; the decoded JSON, or None for a 204.

        ``path`` is relative to ``{api_domain}/bigin/v2`` (e.g. ``"/Contacts"``). A 2xx whose
        body is not JSON is retried like a 5xx when the call is idempotent (an insert raises
        :class:`AmbiguousWriteError`), then raises :class:`APIError` ``MALFORMED_RESPONSE``.
        """
        return await send_and_parse(
            self._transport, method, path, json_body, params=params, json=json, idempotent=idempotent
        )


def _missing_credentials(given: Mapping[str, Any], *, otherwise: str) -> str | None:
    """What is missing from the credentials ``given`` (keyword: value), in ``BIGIN_*`` names; None if
    nothing is. ``otherwise`` says the other way to give them ("pass them as keywords")."""
    present = [variable for variable in _CREDENTIAL_VARIABLES if _given(given, variable)]
    if not present and not _given(given, "BIGIN_ACCESS_TOKEN"):
        return (
            "no Bigin credentials: set BIGIN_CLIENT_ID, BIGIN_CLIENT_SECRET and BIGIN_REFRESH_TOKEN "
            f"(or BIGIN_ACCESS_TOKEN), or {otherwise}"
        )
    if present and len(present) < len(_CREDENTIAL_VARIABLES):
        missing = [variable for variable in _CREDENTIAL_VARIABLES if variable not in present]
        verb = "is" if len(missing) == 1 else "are"
        return (
            f"incomplete Bigin credentials: {' and '.join(missing)} {verb} not set; refresh-token "
            "mode needs BIGIN_CLIENT_ID, BIGIN_CLIENT_SECRET and BIGIN_REFRESH_TOKEN (or set "
            f"BIGIN_ACCESS_TOKEN alone), or {otherwise}"
        )
    return None


def _given(given: Mapping[str, Any], variable: str) -> bool:
    value = given.get(variable.removeprefix("BIGIN_").lower())
    return value is not None and not (isinstance(value, str) and not value.strip())


_Reader = typing.Callable[[str, str], Any]


@functools.cache
@functools.cache
def _variable_readers() -> Mapping[str, tuple[str, _Reader]]:
    """For each scalar keyword of ``BiginClient.__init__``: its variable and how its text reads.

    Worked out once (the signature does not change), not on every ``from_env``: an app that
    builds a client per request would otherwise resolve the type hints each time."""
    hints = typing.get_type_hints(BiginClient.__init__)
    readers: dict[str, tuple[str, _Reader]] = {}
    for name, parameter in inspect.signature(BiginClient.__init__).parameters.items():
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        hint = hints[name]
        # ``X | None`` is a types.UnionType, but typing.Union on 3.10, whose get_type_hints turns
        # a None default's ``X | None`` into Optional[X]: both are unions.
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        members = set(typing.get_args(hint)) if union else {hint}
        nullable = type(None) in members
        if bool in members:
            readers[name] = (f"BIGIN_{name.upper()}", functools.partial(_read_bool, nullable=nullable))
        elif float in members or int in members:
            kind = float if float in members else int
            readers[name] = (
                f"BIGIN_{name.upper()}",
                functools.partial(_read_number, kind=kind, nullable=nullable),
            )
        elif str in members:
            readers[name] = (f"BIGIN_{name.upper()}", _read_text)
    return readers


def _check_expires_in(expires_in: object) -> None:
    # isfinite: nan passes every comparison's "no", and inf is no lifetime a token has.
    if expires_in is not None and (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, (int, float))
        or not math.isfinite(expires_in)
        or expires_in <= 0
    ):
        raise ConfigurationError(f"expires_in must be a positive number of seconds, got {expires_in!r}")


def _checked(name: str, variable: str, value: Any) -> Any:
    """``value`` read from ``variable``, checked as the keyword ``name`` is (alone: each setting's
    check is its own), so that a refused value names the variable the user has to fix."""
    try:
        if name in _SETTINGS_KEYWORDS:
            build_settings(**{name: value})
        elif name == "expires_in":
            _check_expires_in(value)
    except ConfigurationError as error:
        raise ConfigurationError(f"{variable} is refused: {error}") from None
    return value


def _masked(error: ConfigurationError, env: Mapping[str, str]) -> ConfigurationError:
    """``error`` without the values of the credential variables: a ``.env`` whose lines slipped
    puts the client secret on another variable's line, whose error would echo it."""
    message = str(error)
    for variable in ("BIGIN_CLIENT_SECRET", "BIGIN_REFRESH_TOKEN", "BIGIN_ACCESS_TOKEN"):
        value = (env.get(variable) or "").strip()
        if len(value) >= 6:  # a shorter one is no secret, and masking it would garble the text
            message = message.replace(value, "***")
    return error if message == str(error) else ConfigurationError(message)


def _read_text(variable: str, raw: str) -> str:
    return raw.strip()


def _read_number(variable: str, raw: str, *, kind: type[float] | type[int], nullable: bool) -> Any:
    text = raw.strip()
    if nullable and text.lower() in _NONE_WORDS:
        return None
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigurationError(
            f"{variable} must be {what}{' or none' if nullable else ''}, got {raw!r}"
        ) from None


def _read_bool(variable: str, raw: str, *, nullable: bool) -> bool | None:
    text = raw.strip().lower()
    if nullable and text in _NONE_WORDS:
        return None
    if text in _TRUE_WORDS or text in _FALSE_WORDS:
        return text in _TRUE_WORDS
    raise ConfigurationError(f"{variable} must be true or false (1/0, yes/no, on/off), got {raw!r}")


def _warn_misspelt(env: Mapping[str, str]) -> None:
    """Log, once each, ``BIGIN_*`` variables the SDK does not read that are close to one it does."""
    known = [variable for variable, _ in _variable_readers().values()] + list(_OTHER_VARIABLES)
    for variable in env:
        if not variable.startswith("BIGIN_") or variable in known or variable in _WARNED_VARIABLES:
            continue
        meant = difflib.get_close_matches(variable, known, n=1, cutoff=0.85)
        if meant:
            _WARNED_VARIABLES.add(variable)
            logger.warning(
                "%s is not a BIGIN_* variable the SDK reads; did you mean %s?",
                variable,
                meant[0],
                extra={"bigin_event": "unknown_variable"},
            )


def _redis_from_env(url: str, env: Mapping[str, str], *, given_by: str = "BIGIN_REDIS_URL") -> Coordination:
    """``RedisCoordination`` from BIGIN_REDIS_* (the import waits until one is asked for);
    ``given_by`` names where the URL came from (the CLI's ``--redis``), for the error."""
    try:
        integration = importlib.import_module("bigin_async.integrations.redis")
    except ImportError as exc:
        raise ConfigurationError(
            f"{given_by} is set, but redis-py is not installed ({exc}): pip install 'bigin-async[redis]'"
        ) from None
    options: dict[str, Any] = {}
    for name, variable in (("namespace", "BIGIN_REDIS_NAMESPACE"), ("org", "BIGIN_REDIS_ORG")):
        if env.get(variable):
            options[name] = env[variable]
    if env.get("BIGIN_REDIS_ON_DOWN"):
        options["on_redis_down"] = env["BIGIN_REDIS_ON_DOWN"].strip().lower()
    raw = env.get("BIGIN_REDIS_PROCESSES")
    if raw:
        try:
            options["expected_processes"] = int(raw)
        except ValueError:
            raise ConfigurationError(f"BIGIN_REDIS_PROCESSES must be a whole number, got {raw!r}") from None
    coordination: Coordination = integration.RedisCoordination(url, **options)
    return coordination


def module_client_classes() -> dict[str, type[ModuleClient[Any]]]:
    """The client class of each module of the module table, by API name."""
    attributes = [value for value in vars(BiginClient).values() if isinstance(value, _ModuleAttribute)]
    return {attribute.client_class.module_api_name: attribute.client_class for attribute in attributes}


def _check_module_attributes() -> None:
    """Every module table entry has its typed attribute on BiginClient (checked on import)."""
    missing = [
        spec.name for spec in MODULES if not isinstance(vars(BiginClient).get(spec.name), _ModuleAttribute)
    ]
    if missing:
        raise TypeError(f"BiginClient has no module attribute for {', '.join(missing)} (see MODULES)")


_check_module_attributes()


def _check_settings_keywords() -> None:
    """Every keyword of build_settings is one of ``__init__``'s, typed alike (checked on import)."""
    init = inspect.signature(BiginClient.__init__).parameters
    for name, parameter in inspect.signature(build_settings).parameters.items():
        if name not in init or init[name].annotation != parameter.annotation:
            raise TypeError(
                f"BiginClient.__init__ has no keyword {name}: {parameter.annotation} (see build_settings)"
            )


_check_settings_keywords()
