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

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.spinner import Spinner
from rich.text import Text

from bigin_async.bulk import BulkProgress
from bigin_async.models.jobs import READ_PAGE_SIZE

if TYPE_CHECKING:
    from bigin_async.bulk.jobs import ExportProgress

__all__ = ["PHASE_LABELS", "BarOrSpinnerColumn", "BulkBar", "ProgressView", "format_rate", "phase_label"]

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
        if "rate" in task.fields:  # the run's own figure, set by ProgressView.finish (the summary's)
            return Text(str(task.fields["rate"]), style="cyan")
        if "handled" in task.fields:
            # A bulk write: the rows this run handled over its time so far, as the summary counts
            # them (a resumed run's journal-skipped rows are not work done now).
            handled, elapsed = int(task.fields["handled"]), task.elapsed or 0.0
            return Text(format_rate(handled, elapsed) if handled else "- rec/s", style="cyan")
        speed = task.finished_speed or task.speed
        if not speed and task.finished and task.elapsed:
            speed = task.completed / task.elapsed
        return Text(f"{speed:,.0f} rec/s" if speed else "- rec/s", style="cyan")


class BarOrSpinnerColumn(BarColumn):
    """The bar while a total is known; a spinner while it is not (a listing learns its size at the end).

    Bigin's listings carry no total count, so an export through pages has none until its last
    page: a bar drawn against nothing would be a made-up percentage. The spinner says "working"
    and the count column beside it says how far.
    """

    def __init__(self, bar_width: int | None = 40) -> None:
        super().__init__(bar_width=bar_width)
        self._spinner = Spinner("dots", style="progress.spinner")

    def render(self, task: Task) -> RenderableType:  # type: ignore[override]  # a bar or a spinner
        if task.total is not None:
            return super().render(task)
        spinner = self._spinner.render(task.get_time())
        text = spinner.copy() if isinstance(spinner, Text) else Text(str(spinner))
        text.append(" " * max(0, (self.bar_width or 1) - text.cell_len))
        return text


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
            BarOrSpinnerColumn(bar_width=16),
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

    def bulk_task(self, description: str, total: int | None) -> BulkBar:
        """A bar for a bulk write; the returned :class:`BulkBar` is the write's ``on_progress``.

        The records bar counts every record accounted for, and its rate the rows this run handled
        (journal-skipped rows are not counted); a run through bulk jobs adds a bar per phase as
        it starts (``part`` of ``parts``; the waiting bar names the job and its state).
        """
        task = self._progress.add_task(description, total=total, failed=0, unknown=0, handled=0)
        return BulkBar(self._progress, task)

    def count_task(
        self, description: str, total: int | None = None, *, completed: int = 0
    ) -> Callable[[int], None]:
        """A bar for a listing; the returned callback is the paginator's ``on_progress``.

        ``total`` is at most how many records will come (``--max-records``): the bar completes at
        :meth:`finish` with what did. Without it the bar is a spinner beside the running count:
        Bigin's pages carry no total (``info`` has ``count``, the page's, and ``more_records``).
        Zoho CRM's ``GET /{module}/actions/count`` is not in Bigin's documented API, the SDK has
        no call for it and the emulator serves none, so no count is asked (it would also cost a
        credit, and a search's count would not be the records a search can reach).
        ``completed`` starts the count (a resumed export's records already written).
        """
        task = self._progress.add_task(
            description, total=total, completed=completed, failed=0, unknown=0, bound=total is not None
        )

        def update(count: int) -> None:
            self._progress.update(task, completed=count)

        return update

    def export_task(self, description: str, total: int | None = None) -> Callable[[ExportProgress], None]:
        """A bar for an export through Bulk Read jobs; the callback is ``bulk_export``'s ``on_progress``.

        The records bar counts the records read so far; the phase bars count pages (a job per
        200,000 records), the waiting one naming the job and its state. ``total`` is an upper
        bound (``--max-records``). A job knows its count once done (``page_records``): a page
        short of the 200,000 a job reads is the last, so its count gives the export's total; a
        full page may have more after it, and the bar stays a spinner until the next one is done.
        """
        task = self._progress.add_task(description, total=total, failed=0, unknown=0, bound=total is not None)
        phases = _PhaseBars(self._progress)
        before: dict[int, int] = {}  # records handed out before each page (once its job is done)

        def update(progress: ExportProgress) -> None:
            if progress.page_records is not None and progress.page >= 1:
                first = before.setdefault(progress.page, progress.records)
                if progress.page_records < READ_PAGE_SIZE:
                    known = first + progress.page_records
                    self._progress.update(task, total=known if total is None else min(known, total))
            self._progress.update(task, completed=progress.records)
            phases.show(progress.phase, progress.page, None, progress.job_id, progress.job_state)

        return update

    def finish(self, *, records: int | None = None, seconds: float | None = None) -> None:
        """Complete the bars at the end of a run that finished.

        A bar without a total, or whose total was an upper bound (``--max-records``), gets the
        count it reached as its total (listings learn their size only at the end). ``records``
        and ``seconds`` are the walk's own figures: the records bars show that rate, the one the
        summary prints, rather than rich's moving estimate.
        """
        for task in self._progress.tasks:
            if task.total is None or task.fields.get("bound"):
                self._progress.update(task.id, total=task.completed, bound=False)
            if records is not None and seconds is not None and "bound" in task.fields:
                self._progress.update(task.id, rate=format_rate(records, seconds))


class BulkBar:
    """The ``on_progress`` of a bulk write's bar (see :meth:`ProgressView.bulk_task`).

    ``finish(handled, seconds)`` at the end puts on the bar the rate the summary prints (the rows
    this run handled over the time of this run), so the two never show different figures.
    """

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task
        self._phases = _PhaseBars(progress)

    def __call__(self, progress: BulkProgress) -> None:
        self._progress.update(
            self._task,
            completed=progress.processed,
            handled=progress.processed - progress.skipped,
            failed=progress.failed,
            unknown=progress.unknown,
        )
        if progress.phase != "calls":
            self._phases.show(
                progress.phase, progress.part, progress.parts, progress.job_id, progress.job_state
            )

    def finish(self, handled: int, seconds: float) -> None:
        """The run is over: show its own rate, ``handled`` rows in ``seconds``."""
        self._progress.update(self._task, handled=handled, rate=format_rate(handled, seconds))

    @property
    def rate(self) -> str:
        """The rate the bar shows now (what :class:`RateColumn` draws)."""
        task = next(t for t in self._progress.tasks if t.id == self._task)
        return RateColumn().render(task).plain


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
