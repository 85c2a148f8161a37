"""Rich progress bars for the CLI: records done, rate, ETA and failures so far.

The SDK reports progress through plain callbacks (``on_progress`` on the bulk methods gets a
:class:`~bigin_async.BulkProgress`, on paginators a running count, on ``bulk_export`` an
:class:`~bigin_async.bulk.jobs.ExportProgress`); this module turns them into bars. It is the only
place that knows about rich, so the library itself never imports it.

Through Bigin's bulk jobs a run has phases (writing the CSV parts, uploading them, waiting on
each job, reading its results): each phase gets a bar of its own under the records bar, counting
parts (or export pages), and the waiting bar names the job and the state Bigin last reported.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from bigin_async.bulk import BulkProgress

if TYPE_CHECKING:
    from bigin_async.bulk.jobs import ExportProgress

__all__ = ["PHASE_LABELS", "ProgressView", "format_rate", "phase_label"]

# What each phase of a job-based run is called on its bar (BulkProgress.phase, ExportProgress.phase).
PHASE_LABELS = {
    "writing": "writing CSV parts",
    "uploading": "uploading parts",
    "waiting": "waiting on the job",
    "downloading": "downloading results",
    "reading": "reading results",
}


def phase_label(phase: str, job_id: str | None = None, job_state: str | None = None) -> str:
    """``waiting on the job 5545...: IN PROGRESS``: a phase bar's description."""
    label = PHASE_LABELS.get(phase, phase)
    if phase == "waiting" and job_id:
        label = f"{label} {job_id}"
        if job_state:
            label = f"{label}: {job_state}"
    return label


def format_rate(records: float, seconds: float) -> str:
    """``12,345 rec/s``: the rate shown in bars and summaries."""
    return f"{records / seconds:,.0f} rec/s" if seconds > 0 else "-"


class RateColumn(ProgressColumn):
    """Records per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "parts":
            return Text("")
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
        if task.fields.get("unit") == "parts":
            return Text("")
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

    @property
    def bars(self) -> list[tuple[str, float, float | None]]:
        """``(description, completed, total)`` of every bar, top to bottom (what the display shows)."""
        return [(task.description, task.completed, task.total) for task in self._progress.tasks]

    def bulk_task(self, description: str, total: int | None) -> Callable[[BulkProgress], None]:
        """A bar for a bulk write; the returned callback is the write's ``on_progress``.

        The records bar counts every record accounted for; a run through bulk jobs adds a bar per
        phase as it starts (``part`` of ``parts``; the waiting bar names the job and its state).
        """
        task = self._progress.add_task(description, total=total, failed=0, unknown=0)
        phases = _PhaseBars(self._progress)

        def update(progress: BulkProgress) -> None:
            self._progress.update(
                task, completed=progress.processed, failed=progress.failed, unknown=progress.unknown
            )
            if progress.phase != "calls":
                phases.show(
                    progress.phase, progress.part, progress.parts, progress.job_id, progress.job_state
                )

        return update

    def count_task(self, description: str, total: int | None = None) -> Callable[[int], None]:
        """A bar for a listing; the returned callback is the paginator's ``on_progress``."""
        task = self._progress.add_task(description, total=total, failed=0, unknown=0)

        def update(count: int) -> None:
            self._progress.update(task, completed=count)

        return update

    def export_task(self, description: str, total: int | None = None) -> Callable[[ExportProgress], None]:
        """A bar for an export through Bulk Read jobs; the callback is ``bulk_export``'s ``on_progress``.

        The records bar counts the records read so far; the phase bars count pages (a job per
        200,000 records), the waiting one naming the job and its state.
        """
        task = self._progress.add_task(description, total=total, failed=0, unknown=0)
        phases = _PhaseBars(self._progress)

        def update(progress: ExportProgress) -> None:
            self._progress.update(task, completed=progress.records)
            phases.show(progress.phase, progress.page, None, progress.job_id, progress.job_state)

        return update

    def finish(self) -> None:
        """Mark every bar without a total as complete (listings learn their size only at the end)."""
        for task in self._progress.tasks:
            if task.total is None:
                self._progress.update(task.id, total=task.completed)


class _PhaseBars:
    """The bars of one job-based run, one per phase, created as each phase first shows up."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._bars: dict[str, TaskID] = {}

    def show(
        self, phase: str, part: int, parts: int | None, job_id: str | None, job_state: str | None
    ) -> None:
        label = phase_label(phase, job_id, job_state)
        bar = self._bars.get(phase)
        if bar is None:
            bar = self._bars[phase] = self._progress.add_task(label, total=parts, unit="parts")
        self._progress.update(bar, description=label, completed=part, total=parts)
