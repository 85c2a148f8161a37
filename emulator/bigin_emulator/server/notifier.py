"""Delivers the emulated org's notifications: POSTs to each channel's ``notify_url``, with retries.

A write only queues its deliveries (``enqueue`` is synchronous and cheap), so a write answers as
fast with a hundred channels as with none; the POSTs happen in the background while the notifier
runs (``async with notifier.running():``, which ``BiginEmulator.serve()`` enters for you). A
receiver that fails (a non-2xx answer, a refused connection, a timeout) gets the same payload
again after a growing pause, up to ``max_attempts`` in all, as Bigin retries a webhook.

A ``notify_url`` may point at a real socket (the sync example on loopback) or at an ASGI app
registered with ``register_app(url_prefix, app)``: deliveries to it stay in-process, so
notification flows run under ``emulator.client()`` with no sockets, on trio as well as asyncio.

``drain()`` waits until every queued delivery has been made or given up, which is how tests and
benchmarks wait for a webhook without sleeping.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from bigin_emulator.server.middleware import ASGIApp
from bigin_emulator.server.tasks import unwrapping_task_group
from bigin_emulator.state.watches import Delivery, hide_url_secrets

__all__ = ["DeliveryCounters", "DeliveryRecord", "Notifier"]

logger = logging.getLogger("bigin_emulator.server.notifier")


@dataclass
class DeliveryCounters:
    """The notifier's side of the traffic: what was queued, tried, delivered, given up."""

    queued: int = 0
    attempts: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "attempts": self.attempts,
            "delivered": self.delivered,
            "retried": self.retried,
            "failed": self.failed,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "errors": dict(self.errors),
        }


@dataclass(frozen=True)
class DeliveryRecord:
    """How one delivery ended: after ``attempts`` tries, ``ok`` or not, with the last status."""

    delivery: Delivery
    attempts: int
    ok: bool
    status: int | None


class _WebhookTransport(httpx.AsyncBaseTransport):
    """Registered ASGI apps by URL prefix, the network for every other URL."""

    def __init__(self, apps: dict[str, ASGIApp]) -> None:
        self._apps = apps
        self._network = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        for prefix, app in self._apps.items():
            if url.startswith(prefix):
                # raise_app_exceptions=False: a crashing receiver answers 500, as over a socket.
                asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
                return await asgi.handle_async_request(request)
        return await self._network.handle_async_request(request)

    async def aclose(self) -> None:
        await self._network.aclose()


class Notifier:
    """Queues and delivers notification POSTs for one emulated org."""

    def __init__(
        self,
        *,
        max_attempts: int = 4,
        backoff: float = 0.05,
        timeout: float = 10.0,
        concurrency: int = 8,
        history: int = 1000,
    ) -> None:
        if max_attempts < 1 or concurrency < 1:
            raise ValueError("max_attempts and concurrency must be at least 1")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self.concurrency = concurrency
        self.counters = DeliveryCounters()
        self.history: deque[DeliveryRecord] = deque(maxlen=history)
        self._apps: dict[str, ASGIApp] = {}
        self._queue: deque[Delivery] = deque()
        self._unfinished = 0
        self._running = False
        self._wakeup: anyio.Event | None = None
        self._idle: anyio.Event | None = None
        # Work that runs beside the deliveries while the notifier runs (the bulk job runner).
        self.companions: list[Callable[[], Coroutine[Any, Any, None]]] = []

    # -- set-up -------------------------------------------------------------------------------

    def register_app(self, url_prefix: str, app: ASGIApp) -> None:
        """Deliver POSTs whose URL starts with ``url_prefix`` to ``app`` in-process."""
        self._apps[url_prefix] = app

    def unregister_app(self, url_prefix: str) -> None:
        self._apps.pop(url_prefix, None)

    @property
    def pending(self) -> int:
        """Deliveries queued or in progress."""
        return self._unfinished

    # -- queueing -----------------------------------------------------------------------------

    def enqueue(self, delivery: Delivery) -> None:
        """Queue one POST (synchronous: called from inside a write)."""
        self._queue.append(delivery)
        self._unfinished += 1
        self.counters.queued += 1
        if self._wakeup is not None:
            self._wakeup.set()

    async def drain(self) -> None:
        """Wait until every queued delivery is done; runs the notifier meanwhile if it is not running."""
        if not self._running:
            async with self.running():
                await self._wait_idle()
            return
        await self._wait_idle()

    async def _wait_idle(self) -> None:
        while self._unfinished:
            if self._idle is None or self._idle.is_set():
                self._idle = anyio.Event()
            await self._idle.wait()

    # -- running ------------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Deliver queued and future notifications in the background for the duration of the block.

        Re-entrant: an inner ``running()`` (``serve()`` inside a test's own) just yields.
        Deliveries still queued at the end stay queued for the next run.
        """
        if self._running:
            yield
            return
        self._running = True
        try:
            async with (
                httpx.AsyncClient(
                    transport=_WebhookTransport(self._apps), timeout=self.timeout, follow_redirects=False
                ) as http,
                unwrapping_task_group() as tasks,
            ):
                tasks.start_soon(self._dispatch, tasks, http)
                for companion in self.companions:
                    tasks.start_soon(companion)
                try:
                    yield
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            self._running = False
            self._wakeup = None

    async def _dispatch(self, tasks: anyio.abc.TaskGroup, http: httpx.AsyncClient) -> None:
        """Hand each queued delivery to a task, at most ``concurrency`` POSTs at a time."""
        slots = anyio.Semaphore(self.concurrency)
        while True:
            while not self._queue:
                self._wakeup = anyio.Event()
                await self._wakeup.wait()
            delivery = self._queue.popleft()
            await slots.acquire()
            tasks.start_soon(self._deliver_in_slot, slots, http, delivery)

    async def _deliver_in_slot(
        self, slots: anyio.Semaphore, http: httpx.AsyncClient, delivery: Delivery
    ) -> None:
        try:
            record = await self._deliver(http, delivery)
            self.history.append(record)
        finally:
            slots.release()
            self._unfinished -= 1
            if not self._unfinished and self._idle is not None:
                self._idle.set()

    async def _deliver(self, http: httpx.AsyncClient, delivery: Delivery) -> DeliveryRecord:
        counters = self.counters
        status: int | None = None
        shown = hide_url_secrets(delivery.url)  # log lines never show a ``?token=``
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                counters.retried += 1
                await anyio.sleep(self.backoff * 2 ** (attempt - 2))
            counters.attempts += 1
            try:
                response = await http.post(delivery.url, json=delivery.payload)
            except httpx.HTTPError as exc:
                name = type(exc).__name__
                counters.errors[name] = counters.errors.get(name, 0) + 1
                logger.info("notification to %s failed (%s), attempt %d", shown, name, attempt)
                continue
            status = response.status_code
            counters.by_status[status] = counters.by_status.get(status, 0) + 1
            if 200 <= status < 300:
                counters.delivered += 1
                return DeliveryRecord(delivery, attempt, True, status)
            logger.info("notification to %s answered %d, attempt %d", shown, status, attempt)
        counters.failed += 1
        logger.warning("gave up on a notification to %s after %d attempts", shown, self.max_attempts)
        return DeliveryRecord(delivery, self.max_attempts, False, status)
