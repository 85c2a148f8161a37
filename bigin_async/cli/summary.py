"""What ``bigin import`` prints at the end: the summary of a run, or of a dry run.

Each figure answers one question. The table's columns keep this run apart from what the journal
skipped (done by an earlier run, not sent again) and the totals; its rows are the rows' fates
(inserted, updated, failed, unknown). The rate is this run's alone (the rows it handled over its
own time), the same figure the progress bar ends on. Failures are broken down by Zoho's code.
Everything fits an 80-column terminal.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bigin_async.cli.importer import DryRunReport, ImportMode, ImportReport, plural
from bigin_async.cli.progress import format_rate

if TYPE_CHECKING:
    from bigin_async import CreditsReport

__all__ = ["by_count", "credits_line", "mode_phrase", "print_dry_run", "print_import"]

_MODE_NOUNS = {"create": "an insert", "upsert": "an upsert", "update": "an update"}


def credits_line(credits: CreditsReport) -> str:
    """What the run cost in Zoho's API credits, as the client counted them (Zoho's own count rules)."""
    line = f"credits: {credits.spent_total:,} spent by this run"
    if credits.remaining is not None and credits.limit is not None:
        line += f" ({credits.remaining:,} of the {credits.limit:,} a day left)"
    return line


def mode_phrase(mode: ImportMode, module: str, unique: list[str] | None = None) -> str:
    """``an upsert into Contacts on Email``, ``an insert into Accounts``."""
    phrase = f"{_MODE_NOUNS[mode]} into {module}"
    if mode == "upsert":
        phrase += f" on {', '.join(unique)}" if unique else " on its unique field"
    return phrase


def by_count(counter: Counter[str]) -> str:
    """``INVALID_DATA 3, DUPLICATE_DATA 1``: most frequent first, then by name."""
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{key} {count:,}" for key, count in ordered)


def _say(console: Console, text: str) -> None:
    console.print(text, highlight=False)


def _cell(count: int, alarm: bool = False) -> str:
    return f"[red]{count:,}[/]" if alarm and count else f"{count:,}"


def _held_back(console: Console, rows: list[int], unique: list[str] | None) -> None:
    """The unknown rows ``--retry-unknown`` does not send: an upsert could not match them."""
    if not rows:
        return
    shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
    keys = ", ".join(unique or ()) or "the unique field"
    console.print(
        escape(
            f"not sent again: {plural(len(rows), 'unknown row')} with no {keys} to match on (row {shown}): "
            "an upsert of such a row is an insert, a second record if the first one landed; "
            "look for them in Bigin, or give them a value and run the retry again"
        ),
        style="yellow",
        highlight=False,
    )


def _repeated(console: Console, rows: list[tuple[int, int]], unique: list[str] | None) -> None:
    """The rows a re-run does not send because another row holds the same unique value."""
    if not rows:
        return
    keys = ", ".join(unique or ()) or "unique value"
    pairs = "; ".join(f"row {row} has the same {keys} as row {other}" for row, other in rows[:10])
    console.print(
        escape(
            f"not sent: {plural(len(rows), 'row')} whose {keys} another row holds ({pairs}"
            + ("; ..." if len(rows) > 10 else "")
            + "): an upsert of both writes one record, the later row over the earlier one. "
            "Look for the record in Bigin, or fix the file"
        ),
        style="yellow",
        highlight=False,
    )


def _rows_picked(console: Console, selected: str | None, report: ImportReport | DryRunReport) -> None:
    """Which rows a re-run picked (``selected``, when it picked some) and which it holds back: the
    same lines after the run and in its dry run."""
    if selected is not None:
        _say(console, escape(selected))
    _held_back(console, report.held_back, report.unique)
    _repeated(console, report.repeated, report.unique)


def print_import(console: Console, report: ImportReport) -> None:
    """The summary of a ``bigin import`` run."""
    if report.nothing_to_do is not None:
        _say(console, escape(report.nothing_to_do))
        return
    result = report.result
    now = report.now
    table = Table(
        title=f"import: {mode_phrase(report.mode, report.module, report.unique)}", title_justify="left"
    )
    table.add_column("rows", no_wrap=True)
    for name in ("this run", "skipped (journal)", "total"):
        table.add_column(name, justify="right", no_wrap=True)
    fates = (
        ("inserted", report.done_now["insert"], result.actions["insert"], False),
        ("updated", report.done_now["update"], result.actions["update"], False),
        ("failed", now["error"], result.counts["error"], True),
        ("unknown", now["unknown"], result.counts["unknown"], True),
    )
    for name, this_run, total, alarm in fates:
        table.add_row(name, _cell(this_run, alarm), _cell(total - this_run, alarm), _cell(total, alarm))
    table.add_section()
    table.add_row("all", f"{report.this_run:,}", f"{report.skipped:,}", f"{result.total:,}")
    console.print(table)
    rows = plural(report.total_rows, "row")
    selected = None if report.selection is None else f"sent again: {report.selection.what} ({rows})"
    _rows_picked(console, selected, report)
    _say(
        console,
        f"this run: {plural(report.this_run, 'row')} in {report.elapsed:.1f} s "
        f"({format_rate(report.this_run, report.elapsed)})",
    )
    if report.failed_codes:
        _say(console, f"failed by code: {by_count(report.failed_codes)}")
    if report.route is not None:
        _say(console, escape(f"via {report.route.via} ({report.route.reason})"))
    if report.credits is not None:
        _say(console, credits_line(report.credits))
    journal_line = report.journal_summary()
    if journal_line:
        _say(console, journal_line)
    _say(console, escape(f"results: {report.results_path}"))
    if report.selection is not None and report.results_path.is_file():
        from bigin_async.cli.results import summarise_results

        whole = summarise_results(report.results_path)
        statuses = ", ".join(
            f"{status} {whole.statuses[status]:,}" for status in ("success", "error", "unknown")
        )
        _say(console, f"the results file now: {plural(whole.rows, 'row')}, {statuses}")
    if report.ignored_columns:
        ignored = ", ".join(map(repr, report.ignored_columns))
        _say(console, escape(f"ignored columns (not fields of the module, not sent): {ignored}"))
    if not report.columns_checked:
        console.print("[yellow]column names not checked: the module's field list could not be read[/]")
    unknown = result.counts["unknown"]
    if unknown:
        console.print(
            f"[yellow]unknown: {plural(unknown, 'row')} whose answer was lost (inserts, not re-sent to avoid "
            "duplicates). Send just those again, as an upsert: the same command with --retry-unknown "
            "(add --unique FIELD for a module without a unique field).[/]",
            highlight=False,
        )
    if report.aborted is not None:
        console.print(f"[red]stopped:[/] {escape(str(report.aborted))}", highlight=False)
        if report.total_rows > result.total:
            _say(
                console,
                f"rows after row {result.total:,} were not sent; "
                "fix the cause and run the same command again"
                + (" (the journal resumes where it stopped)" if report.journal else ""),
            )


def print_dry_run(console: Console, report: DryRunReport) -> None:
    """What ``bigin import --dry-run`` found."""
    if report.nothing_to_do is not None:
        _say(console, escape(report.nothing_to_do))
        return
    _say(console, "dry run: nothing was sent to Bigin (one metadata call: the module's fields)")
    _say(
        console,
        escape(
            f"would send: {mode_phrase(report.mode, report.module, report.unique)}, "
            f"via {report.route.via} ({report.route.reason})"
        ),
    )
    _rows_picked(console, None if report.selection is None else f"rows: {report.selection.what}", report)
    _say(
        console,
        f"{plural(report.rows, 'row')} read: {report.valid:,} would be sent, {report.refused:,} refused",
    )
    if report.keyless:
        keys = ", ".join(report.unique or ()) or "the unique field"
        _say(
            console,
            escape(
                f"{plural(report.keyless, 'row')} with no {keys}: an upsert cannot match "
                f"{'it' if report.keyless == 1 else 'them'}, so {'it' if report.keyless == 1 else 'each'} "
                "would be inserted as a new record"
            ),
        )
    if report.refusals:
        _say(console, "refused (row, line: reason):")
        for row, line, reason in report.refusals:
            where = f"row {row}" + (f", line {line}" if line else "")
            _say(console, escape(f"  {where}: {reason}"))
        more = report.refused - len(report.refusals)
        if more:
            _say(console, f"  ... and {plural(more, 'more row')}")
    if report.ignored_columns:
        ignored = ", ".join(map(repr, report.ignored_columns))
        _say(console, escape(f"ignored columns (not fields of the module, would not be sent): {ignored}"))
    if not report.columns_checked:
        console.print(
            "[yellow]column names and types not checked: the module's field list could not be read[/]"
        )
    if report.sample:
        _say(
            console,
            "the first "
            + ("record" if len(report.sample) == 1 else f"{len(report.sample)} records")
            + " as sent (JSON):",
        )
        for record in report.sample:
            console.print(
                json.dumps(record, ensure_ascii=False, default=str),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
    if report.credits is not None:
        _say(console, credits_line(report.credits))
