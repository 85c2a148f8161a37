"""``BiginEmulator``: one offline Bigin org, usable in-process or over a loopback socket.

    emulator = BiginEmulator(seed_records=1000)
    async with emulator.client() as client:          # in-process, no sockets
        ...
    async with emulator.serve(port=0) as url:        # real HTTP on 127.0.0.1
        ...

``.app`` is the routes wrapped by ``EmulatorMiddleware`` (limits, latency, faults, counters);
``.store`` holds the records; ``.counters`` is the server's view of the traffic.

``BiginEmulator(realism="zoho")`` plays as hard as Zoho does (bare 429s, fuzzy and lagging search,
scope checks, an unpinned ``api_domain``, hung-up keep-alive connections...: see ``realism``);
the default ``realism="kind"`` is the tidy emulator. Each switch is also a keyword of its own.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from bigin_emulator.ops.bulk_export import DEFAULT_PAGE_SIZE
from bigin_emulator.ops.writes import RecordWriter
from bigin_emulator.realism import RateLimitHeaders, Realism, RealismName, TokenExpiryStyle, resolve_realism
from bigin_emulator.routes.books import books_routes
from bigin_emulator.routes.bulk_read import bulk_read_routes
from bigin_emulator.routes.bulk_write import bulk_write_routes
from bigin_emulator.routes.watch import watch_routes
from bigin_emulator.server.app import build_app
from bigin_emulator.server.counters import ServerCounters
from bigin_emulator.server.faults import FaultPlan, FileFaults, JobFaults, ServerLimits
from bigin_emulator.server.file_host import FileHost
from bigin_emulator.server.middleware import ASGIApp, EmulatorMiddleware
from bigin_emulator.server.notifier import Notifier
from bigin_emulator.server.transport import CONTENT_HOST, EmulatorTransport
from bigin_emulator.state.books import BooksOrg
from bigin_emulator.state.context import EmulatorConfig, EmulatorContext
from bigin_emulator.state.deleted import DEFAULT_RETENTION
from bigin_emulator.state.files import FileLimits, UploadStore
from bigin_emulator.state.jobs import FileStore, JobRegistry
from bigin_emulator.state.metadata import MODULES
from bigin_emulator.state.oauth import DEFAULT_SCOPE, OAuthConfig
from bigin_emulator.state.org_data import org_body
from bigin_emulator.state.state_io import export_state, import_state
from bigin_emulator.state.store import Store
from bigin_emulator.state.watches import WatchRegistry, announce_writes

if TYPE_CHECKING:
    from bigin_async.client import BiginClient

__all__ = ["SDK_INSTALL_HINT", "BiginEmulator"]

# What BiginEmulator.client() and the emulator_client fixture say when bigin-async is not installed.
SDK_INSTALL_HINT = (
    "BiginEmulator.client() needs the bigin-async SDK: pip install 'bigin-emulator[sdk]' (or bigin-async)"
)
LOCAL_URL = "http://127.0.0.1"
LOCAL_HOST = "127.0.0.1"
# In-process, the data centre's file host (content.zohoapis.*) answers on this address.
CONTENT_URL = f"http://{CONTENT_HOST}"


class BiginEmulator:
    """An emulated Bigin org with its own records, tokens, limits and faults.

    ``realism`` picks a preset of the harder-than-tidy switches (``"kind"``, the default, or
    ``"zoho"``) or takes a ``Realism``; the switch keywords (``bare_429s``, ``rate_limit_headers``,
    ``loose_equals``, ``search_lag``, ``keep_alive_timeout``, ``hang_up_after``, ``check_scopes``,
    ``pin_api_domain``, ``token_expiry``, ``shuffle_write_results``, ``write_results_echo_columns``,
    ``drop_write_result_rows``) override one field each when not None; ``Realism``'s docstring
    says what each does. ``scope`` is what the emulator's refresh token was consented
    for (Bigin's scopes by default: Books calls need a ``ZohoBooks.`` one under ``check_scopes``).
    ``.realism`` is the resolved set.

    Bulk jobs (``.jobs``, a ``JobRegistry``) wait ``job_queue_delay`` seconds in ``ADDED``, then
    stay ``IN PROGRESS`` for ``job_seconds_per_1000`` seconds per 1,000 records, on ``clock``; both
    0 by default, so a job is over at its first status poll. While ``notifier.running()`` (or
    ``serve()``) runs, due jobs are finished in the background and their callbacks sent.
    ``bulk_read_page_size`` is the records a Bulk Read page holds (Zoho's 200,000 by default; a
    small one lets a test chain pages over a few records).

    Attachments, record photos and Files API files are kept in ``uploads`` (an ``UploadStore``),
    each file at most ``file_limits.max_file_bytes`` (20 MB), all of them together at most
    ``file_limits.max_stored_bytes`` (256 MB; see ``FileLimits``); ``file_faults`` (a
    ``FileFaults``) drops the answers of uploads that were kept.

    A deleted record sits in the recycle bin (``GET /{Module}/deleted?type=recycle``) for
    ``recycle_bin_retention`` seconds on ``clock`` (Zoho's 60 days), or until
    ``purge_recycle_bin()``; then it is listed as permanently deleted.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        seed_records: int = 0,
        limits: ServerLimits | None = None,
        faults: FaultPlan | None = None,
        token_ttl: float = 3600.0,
        page_token_ttl: float = 86_400.0,
        clock: Callable[[], float] = time.time,
        api_domain: str | None = None,
        client_id: str = "emulator-client-id",
        client_secret: str = "emulator-client-secret",
        refresh_token: str = "emulator-refresh-token",
        refresh_limit: int = 10,
        refresh_window: float = 600.0,
        utc_offset: timedelta = timedelta(0),
        counters: ServerCounters | None = None,
        realism: RealismName | Realism = "kind",
        bare_429s: bool | None = None,
        rate_limit_headers: RateLimitHeaders | None = None,
        loose_equals: bool | None = None,
        search_lag: float | None = None,
        keep_alive_timeout: float | None = None,
        hang_up_after: int | None = None,
        check_scopes: bool | None = None,
        pin_api_domain: bool | None = None,
        token_expiry: TokenExpiryStyle | None = None,
        scope: str = DEFAULT_SCOPE,
        job_queue_delay: float = 0.0,
        job_seconds_per_1000: float = 0.0,
        bulk_read_page_size: int = DEFAULT_PAGE_SIZE,
        shuffle_write_results: bool | None = None,
        job_faults: JobFaults | None = None,
        write_results_echo_columns: int | None = None,
        drop_write_result_rows: int | None = None,
        recycle_bin_retention: float = DEFAULT_RETENTION,
        file_limits: FileLimits | None = None,
        file_faults: FileFaults | None = None,
    ) -> None:
        self.realism = resolve_realism(
            realism,
            {
                "bare_429s": bare_429s,
                "rate_limit_headers": rate_limit_headers,
                "loose_equals": loose_equals,
                "search_lag": search_lag,
                "keep_alive_timeout": keep_alive_timeout,
                "hang_up_after": hang_up_after,
                "check_scopes": check_scopes,
                "pin_api_domain": pin_api_domain,
                "token_expiry": token_expiry,
                "shuffle_write_results": shuffle_write_results,
                "write_results_echo_columns": write_results_echo_columns,
                "drop_write_result_rows": drop_write_result_rows,
            },
        )
        real = self.realism
        oauth = OAuthConfig(
            client_id,
            client_secret,
            refresh_token,
            token_ttl,
            refresh_limit,
            refresh_window,
            scope=scope,
            token_expiry=real.token_expiry,
        )
        config = EmulatorConfig(
            clock, page_token_ttl, api_domain, utc_offset, oauth, real, files=file_limits or FileLimits()
        )
        config.recycle_bin_retention = recycle_bin_retention
        self.seed = seed
        self.counters = counters if counters is not None else ServerCounters()
        self.ctx = EmulatorContext(config, self.counters)
        # Attachments, photos and Files API uploads (``ctx.uploads``) and the faults of their answers.
        self.file_faults = file_faults if file_faults is not None else FileFaults()
        self.ctx.uploads.faults = self.file_faults
        # Notification channels; their POSTs go out through the notifier, never inside a write.
        self.watches = WatchRegistry(clock)
        self.notifier = Notifier()
        self.watches.sink = self.notifier.enqueue
        self.ctx.write_listeners.append(partial(announce_writes, self.watches))
        # Bulk Read and Bulk Write jobs: their states move by ``clock``; their callbacks go out
        # through the notifier, and its runner finishes due jobs while the notifier runs.
        self.job_faults = job_faults if job_faults is not None else JobFaults()
        self.jobs = JobRegistry(
            clock,
            self.ctx.store.ids.next,
            self.ctx.format_time,
            queue_delay=job_queue_delay,
            seconds_per_1000=job_seconds_per_1000,
            sink=self.notifier.enqueue,
            faults=self.job_faults,
        )
        self.notifier.companions.append(self.jobs.run)
        # Bulk Write uploads, kept by the file host until a job takes them.
        self.files = FileStore(self.ctx.store.ids.next, self.ctx.now_iso)
        self.books = BooksOrg(
            clock=clock, utc_offset=utc_offset
        )  # the Zoho Books side of a Bigin-to-Books contact sync
        self.routes = build_app(
            self.ctx,
            [
                *watch_routes(self.ctx, self.watches),
                *books_routes(self.ctx, self.books),
                *bulk_read_routes(self.ctx, self.jobs, page_size=bulk_read_page_size),
                *bulk_write_routes(self.ctx, self.jobs, self.files),
            ],
        )
        zgid = org_body("")["zgid"]  # what GET /org says, and uploads must name in X-CRM-ORG
        self.file_host = FileHost(
            self.ctx.oauth, self.files, zgid, self.job_faults, self.counters, check_scopes=real.check_scopes
        )
        if real.max_concurrency is not None and (limits is None or limits.max_concurrency is None):
            limits = dataclasses.replace(limits or ServerLimits(), max_concurrency=real.max_concurrency)
        self.middleware = EmulatorMiddleware(
            self.routes,
            limits=limits,
            faults=faults,
            counters=self.counters,
            bare_429s=real.bare_429s,
            rate_limit_headers=real.rate_limit_headers,
            content_app=self.file_host,
            job_faults=self.job_faults,
        )
        self.app = self.middleware
        self.content_app: ASGIApp = self.middleware.content_entry
        self.content_url: str | None = None  # the file host's URL while ``serve()`` runs
        self._writer = RecordWriter(self.ctx)
        if seed_records:
            self.seed_data(contacts=seed_records)

    # -- credentials --------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def uploads(self) -> UploadStore:
        """Attachments, record photos and Files API files (not Bulk Write zips: ``files``)."""
        return self.ctx.uploads

    @property
    def client_id(self) -> str:
        return self.ctx.config.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.ctx.config.oauth.client_secret

    @property
    def refresh_token(self) -> str:
        return self.ctx.config.oauth.refresh_token

    def issue_token(self) -> str:
        """A ready access token (valid for ``token_ttl``), not counted as a refresh."""
        return self.ctx.oauth.issue_token()

    def issue_authorization_code(self, redirect_uri: str | None = None) -> str:
        """A one-time code for ``grant_type=authorization_code`` (as the consent page would give)."""
        return self.ctx.oauth.issue_code(self.client_id, redirect_uri)

    # -- clients and serving ------------------------------------------------------------------

    def transport(self) -> EmulatorTransport:
        """An httpx transport into this emulator, with no sockets.

        Without ``pin_api_domain`` it answers only on the emulator's own host (127.0.0.1), so a
        request sent anywhere else (the region's default ``www.zohoapis.com``, say) fails to
        connect, as it would from a machine that can reach only the emulator. The file host
        (Bulk Write uploads) answers on 127.0.0.2 (``CONTENT_URL``), and only there.
        """
        hosts = None if self.realism.pin_api_domain else {LOCAL_HOST}
        return EmulatorTransport(self.app, hosts=hosts, content_app=self.content_app)

    def http_client(self, *, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """A plain httpx client into this emulator; with ``token``, already authorised."""
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Zoho-oauthtoken {token}"
        return httpx.AsyncClient(transport=self.transport(), base_url=LOCAL_URL, headers=headers, **kwargs)

    def client(self, **kwargs: Any) -> BiginClient:
        """A ``BiginClient`` wired to this emulator in-process; keyword arguments override.

        ``api_domain`` is pinned to the emulator unless ``pin_api_domain`` is off: then the client
        has to take it from the token answer (which names the emulator), as against Zoho.
        ``content_domain`` (the file host of Bulk Write uploads) is the in-process ``CONTENT_URL``.
        The client is the SDK's, a separate distribution: without it this raises
        ``ModuleNotFoundError`` saying how to install it.
        """
        try:
            from bigin_async.client import BiginClient
        except ModuleNotFoundError as error:
            if (error.name or "").partition(".")[0] != "bigin_async":
                raise  # the SDK is there but something it needs is not: its own error says what
            raise ModuleNotFoundError(SDK_INSTALL_HINT, name=error.name) from None

        options: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "accounts_url": LOCAL_URL,
            "content_domain": CONTENT_URL,
        }
        if self.realism.pin_api_domain:
            options["api_domain"] = LOCAL_URL
        options.update(kwargs)
        if "http_client" not in options and "transport" not in options:
            options["transport"] = self.transport()
        return BiginClient(**options)

    @asynccontextmanager
    async def serve(
        self, *, host: str = "127.0.0.1", port: int = 0, content_port: int = 0
    ) -> AsyncIterator[str]:
        """Serve over real HTTP on a loopback port for the duration of the block; yields the URL.

        The file host is served too, on ``content_port`` of the same host (0: a free one): its
        URL is ``content_url`` for the duration of the block (the client's ``content_domain``).
        """
        from bigin_emulator.server.serving import serve

        real = self.realism
        idle, hang_up = real.keep_alive_timeout, real.hang_up_after
        async with (
            self.notifier.running(),
            serve(self.app, host=host, port=port, keep_alive_timeout=idle, hang_up_after=hang_up) as url,
            serve(
                self.content_app, host=host, port=content_port, keep_alive_timeout=idle, hang_up_after=hang_up
            ) as content_url,
        ):
            self.content_url = content_url
            try:
                yield url
            finally:
                self.content_url = None

    def register_webhook_app(self, url_prefix: str, app: ASGIApp) -> None:
        """Deliver notifications whose ``notify_url`` starts with ``url_prefix`` to ``app`` in-process.

        Deliveries run while ``notifier.running()`` (or ``serve()``) is active, or during
        ``await emulator.notifier.drain()``.
        """
        self.notifier.register_app(url_prefix, app)

    # -- data ---------------------------------------------------------------------------------

    def insert_records(self, module: str, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert straight into the store (no HTTP, no limits): one result entry per record."""
        spec = MODULES[module]
        items = list(records)
        entries = self._writer.insert(spec, items)
        self.ctx.announce(module, "insert", items, entries)
        if self.ctx.search_index is not None:  # the org's existing data: indexed long ago
            self.ctx.search_index.settle(e["details"]["id"] for e in entries if e["status"] == "success")
        return entries

    def seed_data(self, *, contacts: int = 0, companies: int = 0, deals: int = 0) -> dict[str, list[str]]:
        """Create ``SeedGenerator`` records (companies first, contacts linked to them); returns ids."""
        from bigin_emulator.seed import SeedGenerator

        generator = SeedGenerator(self.seed)
        created: dict[str, list[str]] = {"Accounts": [], "Contacts": [], "Pipelines": []}

        def keep(module: str, entries: list[dict[str, Any]]) -> None:
            created[module] += [e["details"]["id"] for e in entries if e["status"] == "success"]

        keep("Accounts", self.insert_records("Accounts", generator.companies(companies)))
        accounts = [{"id": rid} for rid in created["Accounts"]] or None
        keep(
            "Contacts", self.insert_records("Contacts", generator.contacts(contacts, with_accounts=accounts))
        )
        pipeline = self.ctx.pipelines.default()
        stages = [s.display_value for s in pipeline.stages]
        keep(
            "Pipelines",
            self.insert_records("Pipelines", generator.deals(deals, stages=stages, pipeline_id=pipeline.id)),
        )
        return created

    def purge_recycle_bin(self, module: str | None = None) -> int:
        """Empty the recycle bin (of one module, or all): its records become permanently deleted.

        Returns how many records moved; as when Zoho empties the bin, they stay listed under
        ``GET /{Module}/deleted?type=permanent``.
        """
        return self.ctx.recycle_bin.purge(module)

    def export_state(self) -> dict[str, Any]:
        """The org as JSON-serialisable data (records, links, tags, pipelines, tokens)."""
        return export_state(self.ctx)

    def import_state(self, state: dict[str, Any]) -> None:
        """Replace the org's data with an ``export_state()`` result (files are not in it: none are kept)."""
        import_state(self.ctx, state)
        self.ctx.uploads.clear()
        if self.ctx.search_index is not None:
            self.ctx.search_index.settle()
