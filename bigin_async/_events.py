"""The one event bus of a client: the pipeline emits, and stats, hooks, tracing and logs listen.

The transport (and the bulk writer, the token manager through it) builds one typed event per
thing that happens (:mod:`bigin_async.hooks`) and hands it to :meth:`EventBus.emit`. Listeners
are of two kinds: *sinks*, the SDK's own synchronous listeners (the stats of
:meth:`BiginClient.stats`, the OpenTelemetry integration), and the user's ``event_hooks``, plain
or async. Both are guarded: one that raises is logged once and counted, and the call goes on.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio

from bigin_async._redact import get_logger
from bigin_async.errors import ConfigurationError
from bigin_async.hooks import (
    EVENT_NAMES,
    CallFinished,
    CallStarted,
    ClientEvent,
    EventHook,
    EventHooks,
    RateLimited,
    RequestSent,
    RetryScheduled,
    TokenRefreshed,
)
from bigin_async.stats import WaitStats

__all__ = ["EventBus", "GateQueue", "RefreshSeries", "Samples", "Sink", "StatsCollector", "check_event_hooks"]

Sink = Callable[[ClientEvent], None]
Pending = tuple[ClientEvent, EventHook, bool]  # an event, a hook to tell it, whether that hook is async
logger = get_logger("hooks")
# Events that happen once for the whole client (not for one call): an async hook that a call's
# end kept from one is owed it, and the next call's hooks tell it, rather than lose it for good.
_OWED_KINDS = (TokenRefreshed,)
MAX_OWED = 16  # per hook: past it, that hook's oldest owed event goes (a newer refresh says more)


class RefreshSeries:
    """The token manager's refreshes as the bus has seen them, by their ``refreshes`` number.

    Two marks of one series: ``given``, the newest refresh made into a :class:`TokenRefreshed`
    (by the first call to see the new token, so each refresh is given once), and ``told``, the
    newest one told to any hook (a refresh held with a slower call's hooks may come after a newer
    one: told then, a hook would take the older token for the current one).
    """

    __slots__ = ("given", "told")

    def __init__(self) -> None:
        self.given = 0
        self.told = 0

    def is_new(self, refreshes: int) -> bool:
        """Whether refresh ``refreshes`` is not yet given as an event; it is counted given if so."""
        if refreshes == self.given:
            return False
        self.given = refreshes
        return True

    def is_stale(self, refreshes: int) -> bool:
        """Whether a hook was already told a newer refresh than ``refreshes``."""
        return self.told > refreshes

    def may_tell(self, refreshes: int) -> bool:
        """Whether refresh ``refreshes`` may be told to a hook now (not stale); noted if so."""
        if self.told > refreshes:
            return False
        self.told = refreshes
        return True


class Samples:
    """A kind of wait: count and total over all, the latest ``WaitStats.SAMPLES`` kept for percentiles."""

    __slots__ = ("_next", "_ring", "count", "max", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.max = 0.0
        self._ring: list[float] = []
        self._next = 0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds
        ring = self._ring
        if len(ring) < WaitStats.SAMPLES:
            ring.append(seconds)
        else:
            ring[self._next] = seconds
            self._next = (self._next + 1) % WaitStats.SAMPLES

    def snapshot(self) -> WaitStats:
        ordered = sorted(self._ring)

        def rank(q: float) -> float:  # nearest rank: a value that was seen, never an interpolation
            return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else 0.0

        return WaitStats(
            count=self.count,
            total=self.total,
            p50=rank(0.50),
            p99=rank(0.99),
            max=max(ordered) if ordered else 0.0,
        )


class StatsCollector:
    """The counters behind :meth:`BiginClient.stats`, kept by listening to the events."""

    def __init__(self) -> None:
        self.calls = 0
        self.in_progress = 0
        self.failed = 0
        self.attempts = 0
        self.retries = 0
        self.retries_by_reason: dict[str, int] = {}
        self.rate_limited = 0
        self.hook_errors = 0
        self.gate_wait = Samples()
        self.limiter_wait = Samples()
        self.cooldown_wait = Samples()
        self.call_duration = Samples()

    # What the stats keep of each event; the transport calls these itself when nobody else
    # listens to the event (no event is built then).
    def started(self) -> None:
        self.calls += 1
        self.in_progress += 1

    def sent(self, gate_wait: float, limiter_wait: float, cooldown_wait: float) -> None:
        """An attempt is about to go out: its waits. It counts in ``attempts`` only once it is
        handed to the connection (:meth:`attempted`), so an attempt the deadline or a cancellation
        cuts before the send is not counted. (``request_sent`` hooks run once the attempt has
        ended, or at a cancelled call's end, so they cannot stop it.)"""
        self.gate_wait.add(gate_wait)
        self.limiter_wait.add(limiter_wait)
        self.cooldown_wait.add(cooldown_wait)

    def attempted(self) -> None:
        """An attempt is handed to the connection (what ``CallFinished.attempts`` counts too)."""
        self.attempts += 1

    def finished(self, duration: float, error: str | None) -> None:
        self.in_progress -= 1
        self.call_duration.add(duration)
        if error is not None:
            self.failed += 1

    def __call__(self, event: ClientEvent) -> None:
        kind = type(event)
        if kind is RequestSent:
            assert isinstance(event, RequestSent)
            self.sent(event.gate_wait, event.limiter_wait, event.cooldown_wait)
        elif kind is CallStarted:
            self.started()
        elif kind is CallFinished:
            assert isinstance(event, CallFinished)
            self.finished(event.duration, event.error)
        elif kind is RetryScheduled:
            assert isinstance(event, RetryScheduled)
            self.retries += 1
            self.retries_by_reason[event.reason] = self.retries_by_reason.get(event.reason, 0) + 1
        elif kind is RateLimited:
            self.rate_limited += 1


class GateQueue:
    """The calls waiting for a place at one transport's gate (``stats().gate_queue``).

    Kept by the transport around its wait, next to its gate, not on the event bus: a Books
    client made with ``BooksClient.from_bigin`` shares Bigin's bus (its calls count in
    ``calls``), but has a gate of its own, whose queue is not Bigin's.
    """

    __slots__ = ("peak", "waiting")

    def __init__(self) -> None:
        self.waiting = 0
        self.peak = 0

    def enter(self, full: bool) -> None:
        """A call asks for a place at the gate; ``full``: none is free, so it will wait."""
        self.waiting += 1
        if full and self.waiting > self.peak:
            self.peak = self.waiting

    def leave(self) -> None:
        self.waiting -= 1


def _out_of_time() -> bool:
    """Whether the scope this runs in is already past its deadline (or cancelled)."""
    return anyio.current_effective_deadline() <= anyio.current_time()


def _same_method(one: object, other: object) -> bool:
    """Whether two bound methods are the same one read twice (asked of methods only: a hook's own
    ``__eq__`` is the user's, and may do anything)."""
    methods = (inspect.ismethod(one) or inspect.isbuiltin(one)) and type(one) is type(other)
    return bool(methods and one == other)


def _is_async(hook: Callable[..., Any]) -> bool:
    call = getattr(hook, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(call)


def check_event_hooks(hooks: object) -> dict[str, tuple[EventHook, ...]]:
    """``event_hooks`` as given to the client, checked: event names known, lists of callables."""
    if hooks is None:
        return {}
    if not isinstance(hooks, Mapping):
        raise ConfigurationError(
            'event_hooks must be a dict of event name -> list of hooks, e.g. {"retry_scheduled": [log_retry]}'
        )
    checked: dict[str, tuple[EventHook, ...]] = {}
    for name, listed in hooks.items():
        if name not in EVENT_NAMES:
            near = [known for known in EVENT_NAMES if name and known.startswith(str(name))]
            near = near[:1] or difflib.get_close_matches(str(name), EVENT_NAMES, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; the events are {', '.join(EVENT_NAMES)}"
            raise ConfigurationError(f"event_hooks: {name!r} is not an event{hint}")
        if callable(listed) or not isinstance(listed, Sequence) or isinstance(listed, str | bytes):
            raise ConfigurationError(
                f"event_hooks[{name!r}] must be a list of hooks, not {type(listed).__name__}"
            )
        for hook in listed:
            if not callable(hook):
                raise ConfigurationError(
                    f"event_hooks[{name!r}] holds {type(hook).__name__}, which is not callable"
                )
        if listed:
            checked[name] = tuple(listed)
    return checked


class EventBus:
    """Where a client's events go: its sinks (stats first) and its ``event_hooks``."""

    def __init__(self, hooks: EventHooks | None = None) -> None:
        self.stats = StatsCollector()
        self._owed: list[Pending] = []  # client-wide events an async hook did not get (see _OWED_KINDS)
        self.refreshes = RefreshSeries()  # the token manager's refreshes, given and told
        self._sinks: tuple[Sink, ...] = (self.stats,)
        self._hooks: dict[str, tuple[tuple[EventHook, bool], ...]] = {}
        self._listened: frozenset[str] = frozenset()  # events someone besides the stats listens to
        self._failed: list[object] = []  # hooks and sinks whose failure was logged (kept: no id reuse)
        self._calls = 0
        self.set_hooks(hooks)

    # -- listeners -------------------------------------------------------------------------------
    @property
    def hooks(self) -> dict[str, list[EventHook]]:
        """The user's hooks by event name (a copy)."""
        return {name: [hook for hook, _ in listed] for name, listed in self._hooks.items()}

    def set_hooks(self, hooks: EventHooks | None) -> None:
        checked = check_event_hooks(hooks)
        self._hooks = {
            name: tuple((hook, _is_async(hook)) for hook in listed) for name, listed in checked.items()
        }
        # What is owed to a hook that is gone goes with it; a hook kept keeps its own.
        self._owed = [told for told in self._owed if self._is_current(told[0], told[1])]
        self._relisten()

    def _relisten(self) -> None:
        self._listened = frozenset(EVENT_NAMES) if len(self._sinks) > 1 else frozenset(self._hooks)

    def listens(self, name: str) -> bool:
        """Whether a hook or a sink other than the stats listens to ``name`` (else the event need
        not be built: the transport tells the stats what they keep of it directly)."""
        return name in self._listened

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return self._sinks

    def add_sink(self, sink: Sink) -> Callable[[], None]:
        """Listen to every event synchronously (the SDK's own listeners); returns the remover."""
        self._sinks = (*self._sinks, sink)
        self._relisten()

        def remove() -> None:
            self._sinks = tuple(kept for kept in self._sinks if kept is not sink)
            self._relisten()

        return remove

    def next_call_id(self) -> int:
        self._calls += 1
        return self._calls

    # -- emitting --------------------------------------------------------------------------------
    async def emit(self, event: ClientEvent, *, hook_timeout: float | None) -> None:
        """Give ``event`` to every sink, then to its hooks (awaiting the async ones) in order.

        ``hook_timeout``: the most an async hook may take (the ``timeout`` of the call, or of the
        client view, it reports on); one still running then is cut, logged and counted like a hook
        that raised. None: no bound of its own (a call's hooks still end at its ``deadline``)."""
        if self.note(event):
            await self.to_hooks(event, hook_timeout=hook_timeout)

    def note(self, event: ClientEvent) -> bool:
        """Give ``event`` to the sinks now; True when hooks listen to it, to be given it later with
        :meth:`to_hooks` (where the caller may wait for them)."""
        self._to_sinks(event)
        return event.name in self._hooks

    async def to_hooks(self, event: ClientEvent, *, hook_timeout: float | None) -> None:
        """The hooks' part of :meth:`emit`, for an event the sinks already had (:meth:`note`).

        When a deadline or a cancellation cuts an async hook, the plain hooks after it still get
        the event, as with :meth:`held_to_hooks`."""
        await self._in_order(self._pending((event,)), hook_timeout)

    @property
    def owes(self) -> bool:
        """Whether an async hook is owed a client-wide event (told with the next held hooks)."""
        return bool(self._owed)

    async def held_to_hooks(
        self, held: Sequence[ClientEvent], deadline: float, *, hook_timeout: float | None
    ) -> None:
        """The hooks of events the sinks already had (:meth:`note`), in order, until ``deadline``
        (each async one for at most ``hook_timeout``), after any client-wide event owed to one.

        When the deadline (or a cancellation) cuts an async hook, the hooks not yet run still get
        their events if they are plain ones: one slow hook does not take the events of the others.
        """
        owed, self._owed = self._owed, []
        with anyio.CancelScope(deadline=deadline):
            await self._in_order([*owed, *self._pending(held)], hook_timeout)

    async def _in_order(self, pending: Sequence[Pending], hook_timeout: float | None) -> None:
        """Each hook its event, in order; cut short, the plain hooks not yet run still get theirs."""
        done = 0
        try:
            for told in pending:
                event, hook, is_async = told
                done += 1  # counted first: a hook the deadline cut is not called again
                if is_async and isinstance(event, _OWED_KINDS) and _out_of_time():
                    self._owe(told)  # it would be cut at its first await: the next call tells it
                    continue
                if self._may_tell(event):
                    await self._to_hook(hook, is_async, event, hook_timeout)
        finally:
            self._to_plain_hooks_of(pending[done:])

    def held_to_plain_hooks(self, held: Sequence[ClientEvent]) -> None:
        """:meth:`held_to_hooks` where nothing may be awaited (a cancelled call's end): the plain
        hooks get every event, in order; async hooks get none."""
        self._to_plain_hooks_of(self._pending(held))

    def _pending(self, held: Sequence[ClientEvent]) -> list[Pending]:
        """Each held event with each of its hooks, in the order they are to be told."""
        hooks = self._hooks
        return [(event, hook, is_async) for event in held for hook, is_async in hooks.get(event.name, ())]

    def _to_plain_hooks_of(self, pending: Sequence[Pending]) -> None:
        """The plain hooks of ``pending`` their events now; the async ones are owed the
        client-wide ones (a refresh happens once: no later call would tell it), and lose the rest."""
        for told in pending:
            event, hook, is_async = told
            if not is_async:
                if self._may_tell(event):
                    self._to_plain_hook(hook, event)
            elif isinstance(event, _OWED_KINDS):
                self._owe(told)

    def _owe(self, told: Pending) -> None:
        """Keep ``told`` for the next call's hooks, unless its hook is gone or had a newer one.

        At most :data:`MAX_OWED` per hook: past it, that hook's oldest owed event goes (a newer
        refresh says more), never another hook's, which may be owed nothing else."""
        event, hook, _ = told
        if not self._is_current(event, hook) or self._stale(event):
            return
        owed = self._owed
        owed.append(told)
        same = [at for at, (_, kept, _) in enumerate(owed) if kept is hook or _same_method(kept, hook)]
        if len(same) > MAX_OWED:
            del owed[same[0]]

    def _is_current(self, event: ClientEvent, hook: EventHook) -> bool:
        """Whether ``hook`` is still listed for ``event`` (equal, as a bound method listed again
        is: ``obj.method`` is a new object at every reading)."""
        return any(kept is hook or _same_method(kept, hook) for kept, _ in self._hooks.get(event.name, ()))

    def _stale(self, event: ClientEvent) -> bool:
        """A refresh older than one already told (a slower call tells it late). Kept for the
        whole client, not per hook: a hook listed since must not take the older token for new."""
        return isinstance(event, TokenRefreshed) and self.refreshes.is_stale(event.refreshes)

    def _may_tell(self, event: ClientEvent) -> bool:
        """Whether ``event`` is to be told to a hook now (False: a stale refresh); noted if so.

        Held with its call's hooks, a refresh may reach them after a newer one that another call
        told: told then, it would make a hook believe the older token is the current one. The
        same refresh is told to every hook listed for it (twice to one listed twice)."""
        return not isinstance(event, TokenRefreshed) or self.refreshes.may_tell(event.refreshes)

    async def _to_hook(
        self, hook: EventHook, is_async: bool, event: ClientEvent, hook_timeout: float | None
    ) -> None:
        try:
            result = hook(event)
            if is_async or inspect.isawaitable(result):
                # Its own bound, inside the call's deadline (which, when it comes first, cuts the
                # hook as before, as that scope's cancellation, not as this one). Read as "this
                # bound fired", not "caught": a hook that swallowed its cut was still cut.
                with anyio.move_on_after(hook_timeout) as bound:
                    await result  # type: ignore[misc]
                if bound.cancel_called:
                    self._failed_once(hook, event, None, hook_timeout)
        except Exception as exc:
            self._failed_once(hook, event, exc)

    def emit_nowait(self, event: ClientEvent) -> None:
        """Like :meth:`emit` where nothing may be awaited (a cancelled call's end): sinks and plain
        hooks get the event, async hooks do not."""
        self._to_sinks(event)
        self.held_to_plain_hooks((event,))

    def _to_plain_hook(self, hook: EventHook, event: ClientEvent) -> None:
        try:
            result = hook(event)
            if inspect.isawaitable(result):  # a plain function that returned a coroutine
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            self._failed_once(hook, event, exc)

    def _to_sinks(self, event: ClientEvent) -> None:
        for sink in self._sinks:
            try:
                sink(event)
            except Exception as exc:
                self._failed_once(sink, event, exc)

    def _failed_once(
        self, listener: object, event: ClientEvent, exc: Exception | None, bound: float | None = None
    ) -> None:
        """A hook or sink raised ``exc``, or (None) outlasted its ``bound`` and was cut."""
        self.stats.hook_errors += 1
        first = not any(listener is failed for failed in self._failed)
        if first:
            self._failed.append(listener)
        name = getattr(listener, "__qualname__", type(listener).__name__)
        later = "; its later failures are only counted (stats().hook_errors)" if first else ""
        args: tuple[object, ...]
        if exc is not None:
            message, args = "event hook %s raised on %s: %r%s", (name, event.name, exc, later)
        else:
            message = "event hook %s did not return within %g s on %s%s"
            args = (name, bound, event.name, later)
        logger.log(
            30 if first else 10,  # WARNING once, then DEBUG
            message,
            *args,
            exc_info=exc if first else None,
            extra={"bigin_event": "hook_failed", "bigin_hook_event": event.name},
        )
