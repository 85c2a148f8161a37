"""Rich progress bars for the CLI: records done, rate, ETA and failures so far.

The SDK reports progress through plain callbacks (``on_progress`` on the bulk methods gets a
:class:`~bigin_async.BulkProgress`, on paginators a running count); this module turns them into
bars. It is the only place that knows about rich, so the library itself never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from bigin_async.bulk import BulkProgress

__all__ = ["ProgressView", "format_rate"]


def format_rate(records: float, seconds: float) -> str:
    """``12,345 rec/s``: the rate shown in bars and summaries."""
    return f"{records / seconds:,.0f} rec/s" if seconds > 0 else "-"


class RateColumn(ProgressColumn):
    """Records per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed and task.finished and task.elapsed:
            speed = task.completed / task.elapsed
        return Text(f"{speed:,.0f} rec/s" if speed else "- rec/s", style="cyan")


class CountColumn(ProgressColumn):
    """``12,345/20,000`` (or just the count while the total is unknown)."""

    def render(self, task: Task) -> Text:
        done = f"{int(task.completed):,}"
        return Text(f"{done}/{int(task.total):,}" if task.total is not None else done, style="green")


class FailuresColumn(ProgressColumn):
    """Failed (and unknown-fate) records so far: red as soon as there is one."""

    def render(self, task: Task) -> Text:
        failed = int(task.fields.get("failed", 0))
        unknown = int(task.fields.get("unknown", 0))
        if not failed and not unknown:
            return Text("0 failed", style="green")
        text = f"{failed:,} failed" + (f", {unknown:,} unknown" if unknown else "")
        return Text(text, style="bold red")


class ProgressView:
    """One live display holding a bar per phase (``with ProgressView(console) as view:``).

    ``enabled=False`` (``--no-progress``, or output that is not a terminal) keeps the callbacks
    working but draws nothing, so the code paths stay the same.
    """

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=16),
            CountColumn(),
            RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(compact=True),
            FailuresColumn(),
            console=console,
            disable=not enabled,
        )

    def __enter__(self) -> ProgressView:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def bulk_task(self, description: str, total: int | None) -> Callable[[BulkProgress], None]:
        """A bar for a bulk write; the returned callback is the write's ``on_progress``."""
        task = self._progress.add_task(description, total=total, failed=0, unknown=0)

        def update(progress: BulkProgress) -> None:
            self._progress.update(
                task, completed=progress.processed, failed=progress.failed, unknown=progress.unknown
            )

        return update

    def count_task(self, description: str, total: int | None = None) -> Callable[[int], None]:
        """A bar for a listing; the returned callback is the paginator's ``on_progress``."""
        task = self._progress.add_task(description, total=total, failed=0, unknown=0)

        def update(count: int) -> None:
            self._progress.update(task, completed=count)

        return update

    def finish(self) -> None:
        """Mark every bar without a total as complete (listings learn their size only at the end)."""
        for task in self._progress.tasks:
            if task.total is None:
                self._progress.update(task.id, total=task.completed)
