"""Everything one emulated org holds, handed to every route: config, records, metadata, tokens.

Routes are built as closures over one ``EmulatorContext`` instead of reading ``app.state``, so
each emulator instance is self-contained (tests run many side by side) and fully typed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from bigin_emulator.realism import Realism
from bigin_emulator.state.deleted import DEFAULT_RETENTION, RecycleBin
from bigin_emulator.state.files import FileLimits, UploadStore
from bigin_emulator.state.ids import format_datetime
from bigin_emulator.state.oauth import OAuthConfig, TokenAuthority
from bigin_emulator.state.org_data import UserDirectory
from bigin_emulator.state.pipelines import PipelineRegistry
from bigin_emulator.state.search_index import LaggingIndex
from bigin_emulator.state.store import Store
from bigin_emulator.state.tags import TagRegistry

__all__ = ["EmulatorConfig", "EmulatorContext", "FileLimits", "RefreshCounter", "WriteListener"]

# (module, operation, the items sent, their result entries); operation is one of
# "insert", "update", "upsert", "delete" (for deletes the items are the ids).
WriteListener = Callable[[str, str, Sequence[Any], Sequence[dict[str, Any]]], None]


class RefreshCounter(Protocol):
    """Where routes count refresh grants and the faults they deal: the server's ``ServerCounters``.

    A protocol, so the org's state does not depend on the server that counts its traffic.
    """

    def refresh(self) -> None: ...

    def fault_injected(self, kind: str) -> None: ...


@dataclass
class EmulatorConfig:
    """Knobs of the emulated server; ``clock`` is wall-clock seconds (``time.time`` by default).

    ``realism`` holds the switches routes read (search fuzziness and lag, scope checks).
    ``files`` (``FileLimits``) is how large an uploaded file may be and how much the org keeps.
    ``recycle_bin_retention`` is how long a deleted record stays in the recycle bin (seconds).
    """

    clock: Callable[[], float] = time.time
    page_token_ttl: float = 86_400.0
    api_domain: str | None = None
    utc_offset: timedelta = timedelta(0)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    realism: Realism = field(default_factory=Realism)
    files: FileLimits = field(default_factory=FileLimits)
    recycle_bin_retention: float = DEFAULT_RETENTION


class EmulatorContext:
    """The state of one emulated org."""

    def __init__(self, config: EmulatorConfig, counters: RefreshCounter) -> None:
        self.config = config
        self._last_formatted: tuple[int, timedelta, str] | None = None
        self.counters = counters
        realism = config.realism
        # What search sees when its index lags writes; None (no cost on writes) without a lag.
        self.search_index = LaggingIndex(realism.search_lag, config.clock) if realism.search_lag > 0 else None
        self.store = Store(self.search_index)
        self.pipelines = PipelineRegistry(self.store.ids.next)
        self.pipelines.create_default()
        self.tags = TagRegistry(self.store.ids.next, self.now_iso)
        # Attachments, photos and Files API files: their bodies, bounded by ``config.files``.
        self.uploads = UploadStore(config.files, self.store.ids.next, self.now_iso)
        self.write_listeners: list[WriteListener] = []
        self.users = UserDirectory(self.store.ids.next, self.now_iso)
        self.recycle_bin = RecycleBin(config.clock, self.format_time, config.recycle_bin_retention)
        self.oauth = TokenAuthority(config.oauth, config.clock)
        self.started_at = config.clock()

    def announce(
        self, module: str, operation: str, items: Sequence[Any], entries: Sequence[dict[str, Any]]
    ) -> None:
        """Tell the write listeners (e.g. notification channels) about one finished write call."""
        for listener in self.write_listeners:
            listener(module, operation, items, entries)

    def now(self) -> float:
        return self.config.clock()

    def now_iso(self) -> str:
        return self.format_time(self.config.clock())

    def format_time(self, epoch_seconds: float) -> str:
        """``format_datetime`` in the org's offset; the last answer is reused within its second.

        A bulk write stamps each of its records (three times over), nearly always within one
        second, and formatting a datetime costs more than the rest of a stamp.
        """
        second, offset = int(epoch_seconds), self.config.utc_offset
        last = self._last_formatted
        if last is not None and last[0] == second and last[1] == offset:
            return last[2]
        text = format_datetime(second, offset)
        self._last_formatted = (second, offset, text)
        return text
