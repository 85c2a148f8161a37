"""Results files after the run: ``bigin results FILE``, and the rows a re-run sends again.

``bigin import`` writes one line per input row saying what became of it (see
:class:`bigin_async.cli.importer.ResultsFile`). This module reads such a file back: to summarise
it (rows by status and by action, failures by Zoho's code, the rows whose fate is unknown), and
to pick the rows ``--retry-unknown`` or ``--only-rows FILE`` send again. After such a re-run the
file is rewritten whole, the re-sent rows' lines replaced by their new outcomes and the others
kept, through a temporary file and ``os.replace``: a run that dies half way leaves the old file
as it was, never half of each.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import tempfile
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bigin_async._atomic import sync_directory
from bigin_async.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "RESULTS_COLUMNS",
    "ResultsSummary",
    "PickedRows",
    "check_results_file",
    "merge_results",
    "pick_rows",
    "pick_unknown",
    "print_results_summary",
    "read_row_numbers",
    "remove_leftovers",
    "row_number",
    "summarise_results",
    "unknown_rows",
]

# The columns every results file starts with (``ResultsFile.COLUMNS`` writes them).
RESULTS_COLUMNS = ("row", "line", "status", "action", "id", "code", "message", "details", "key")
_STATUSES = ("success", "error", "unknown")


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


# A row number as bigin import writes it: ASCII digits (``str.isdigit`` also takes ``²`` and ``٣``).
_ROW_NUMBER = re.compile(r"[0-9]{1,18}")


def row_number(text: str) -> int | None:
    """``text`` as a row number of a results file (1 is the first record), or None."""
    text = text.strip()
    if not _ROW_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if number >= 1 else None


class _Lines:
    """The complete lines of a results file: a last line without its newline is a line the
    process died writing (the file is written through a buffer), so it is left out, and
    ``torn`` says so. Its row is then one the file does not report, as if never written."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self.torn = False

    def __iter__(self) -> Iterator[str]:
        previous: str | None = None
        for line in self._handle:  # a lone \r inside a quoted cell splits a line too: only the last counts
            if previous is not None:
                yield previous
            previous = line
        if previous is not None:
            if previous.endswith(("\n", "\r")):
                yield previous
            else:
                self.torn = True


@contextlib.contextmanager
def _results_rows(path: Path, lines: list[_Lines] | None = None) -> Iterator[Iterator[dict[str, str]]]:
    """The rows of a results file, read lazily; a file that is not one is a usage error. ``lines``
    gets the line reader, whose ``torn`` says whether a cut last line was left out."""
    if not path.is_file():
        raise UsageError(f"no such results file: {path} (bigin import writes one per run; see --results)")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            complete = _Lines(handle)
            if lines is not None:
                lines.append(complete)
            reader = csv.DictReader(complete)
            header = reader.fieldnames or []
            if not header and (complete.torn or path.stat().st_size == 0):
                # Not even the header line is whole: the import died before writing one line
                # (it writes through a buffer). No row has a known fate.
                complete.torn = True
                yield iter(())
                return
            if not {"row", "status"} <= set(header):
                raise UsageError(
                    f"{path} is not a results file of bigin import: its header should start with "
                    f"{','.join(RESULTS_COLUMNS)}" + (f" (it reads {','.join(header)})" if header else "")
                )
            yield _checked(reader, path)
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a results file of bigin import (not UTF-8 text)") from None
    except csv.Error as error:
        raise UsageError(f"{path} is not a readable CSV file: {error}") from None


def _checked(reader: csv.DictReader[str], path: Path) -> Iterator[dict[str, str]]:
    for row in reader:
        number, status = (row.get("row") or "").strip(), (row.get("status") or "").strip()
        if row_number(number) is None or status not in _STATUSES:
            raise UsageError(
                f"{path}, line {reader.line_num}: not a results line of bigin import "
                f"(row {number!r}, status {status!r}; a row is a number from 1, a status one of "
                f"{', '.join(_STATUSES)})"
            )
        yield row


@dataclass
class ResultsSummary:
    """What a results file says, counted: rows by status and by action, failures by code."""

    path: Path
    rows: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    #: The file ends in a line cut short (the import died writing it): not counted.
    torn: bool = False

    @property
    def ok(self) -> bool:
        return self.rows == self.statuses["success"] and not self.torn


def summarise_results(path: Path) -> ResultsSummary:
    """Count a results file (one pass, memory flat in its size)."""
    summary = ResultsSummary(path)
    readers: list[_Lines] = []
    with _results_rows(path, readers) as rows:
        for row in rows:
            summary.rows += 1
            status = row["status"].strip()
            summary.statuses[status] += 1
            if status == "success" and (row.get("action") or "").strip():
                summary.actions[row["action"].strip()] += 1
            if status == "error":
                summary.codes[(row.get("code") or "").strip() or "(no code)"] += 1
    summary.torn = readers[0].torn
    return summary


def _by_count(counter: Counter[str]) -> str:
    """``INVALID_DATA 3, DUPLICATE_DATA 1``: most frequent first, then by name."""
    return ", ".join(
        f"{key} {count:,}" for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def print_results_summary(console: Console, summary: ResultsSummary) -> None:
    """``bigin results FILE``'s report."""

    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    say(f"{summary.path}: {_plural(summary.rows, 'row')}")
    if summary.torn:
        say(
            "its last line is cut short (the import died writing it): not counted; the rows after the "
            "last one it lists have no known fate (--retry-unknown sends them again, as an upsert)"
        )
    say(
        "by status: "
        + (", ".join(f"{s} {summary.statuses[s]:,}" for s in _STATUSES) if summary.rows else "-")
    )
    if summary.actions:
        say("by action: " + _by_count(summary.actions))
    if summary.codes:
        say("failed by code: " + _by_count(summary.codes))
    unknown = summary.statuses["unknown"]
    if unknown:
        say(
            f"unknown: {_plural(unknown, 'row')} may or may not be in Bigin (the answer was lost); "
            "send just those again, as an upsert: bigin import MODULE FILE --retry-unknown "
            f"--results {summary.path}"
        )


@dataclass(frozen=True)
class PickedRows:
    """The rows a re-run sends, as a results file (or a list) names them."""

    rows: frozenset[int]
    #: What the results file's ``key`` column says each picked row was (``Email=a@example.com``),
    #: where it says: a re-run compares it with the row now at that number in the input.
    keys: dict[int, str] = field(default_factory=dict)
    #: The highest row number the results file reports (0: none; None: not a results file).
    last: int | None = None
    #: The results file ends in a line cut short (the process died writing it), left out.
    torn: bool = False
    #: Rows the file gives as inserted or of unknown fate: their record is (or may be) in Bigin,
    #: so sending them again as an insert makes a second one.
    landed: frozenset[int] = frozenset()


def pick_unknown(path: Path) -> PickedRows:
    """The rows whose status in the results file ``path`` is ``unknown``, with their keys, and
    the last row it reports: rows after it (an import that died before writing them) have no
    known fate either."""
    rows: set[int] = set()
    keys: dict[int, str] = {}
    last = 0
    readers: list[_Lines] = []
    with _results_rows(path, readers) as lines:
        for line in lines:
            number = int(line["row"])
            last = max(last, number)
            if line["status"].strip() == "unknown":
                rows.add(number)
                if (line.get("key") or "").strip():
                    keys.setdefault(number, line["key"])
    return PickedRows(frozenset(rows), keys, last, readers[0].torn)


def unknown_rows(path: Path) -> frozenset[int]:
    """The row numbers whose status in the results file ``path`` is ``unknown``."""
    return pick_unknown(path).rows


def check_results_file(path: Path) -> None:
    """Read ``path`` through as a results file (a usage error if it is not one): a re-run merges
    its new outcomes into it after sending, too late to find it cannot."""
    with _results_rows(path) as lines:
        for _ in lines:
            pass


def pick_rows(path: Path) -> PickedRows:
    """``--only-rows FILE``: the numbers of its ``row`` column (a results file, filtered or not),
    with its ``key`` column where it has one (but for failed rows, which may have been fixed), or
    one row number per line (nothing then to check the input against). Row numbers are those
    of the results file: 1 is the first record."""
    if not path.is_file():
        raise UsageError(f"--only-rows {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"--only-rows {path}: not UTF-8 text") from None
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    numbers: set[int] = set()
    keys: dict[int, str] = {}
    landed: set[int] = set()
    if "row" in [cell.strip() for cell in next(csv.reader([first]), [])]:
        reader = csv.DictReader(line for line in lines if line.strip())
        for row in reader:
            cell = (row.get("row") or "").strip()
            number = row_number(cell)
            if number is None:
                raise UsageError(f"--only-rows {path}, line {reader.line_num}: {cell!r} is not a row number")
            numbers.add(number)
            # A failed row's record is not in Bigin: its input may have been fixed since (its key
            # too). Any other row must still be the record the file names, else it is sent twice.
            status = (row.get("status") or "").strip()
            if (row.get("key") or "").strip() and status != "error":
                keys.setdefault(number, row["key"] or "")
            if status == "unknown" or (status == "success" and (row.get("action") or "").strip() == "insert"):
                landed.add(number)
    else:
        for index, line in enumerate(lines, start=1):
            cell = line.strip()
            if not cell:
                continue
            number = row_number(cell)
            if number is None:
                raise UsageError(
                    f"--only-rows {path}, line {index}: {cell!r} is not a row number "
                    "(give a results file, or one row number per line)"
                )
            numbers.add(number)
    if not numbers:
        raise UsageError(f"--only-rows {path}: no row numbers in it")
    return PickedRows(frozenset(numbers), keys, landed=frozenset(landed))


def read_row_numbers(path: Path) -> frozenset[int]:
    """``--only-rows FILE``'s row numbers (see :func:`pick_rows`)."""
    return pick_rows(path).rows


def remove_leftovers(target: Path) -> None:
    """Remove the temporary files a re-run killed before its end left next to ``target`` (its
    new outcomes ``.NAME.*.new``, a merge ``.NAME.*.tmp``): they were never the results file, and
    the rows they held are still unknown in it, so this run sends them again."""
    for pattern in (f".{target.name}.*.new", f".{target.name}.*.tmp"):
        for leftover in target.parent.glob(pattern):
            with contextlib.suppress(OSError):
                leftover.unlink()


def merge_results(old: Path, new: Path, target: Path) -> None:
    """Write ``target``: the lines of results file ``old`` (if it exists), each row that ``new``
    holds replaced by ``new``'s line, rows only ``new`` has put in row order; atomically (a
    temporary file next to ``target``, then ``os.replace``), so ``target`` is the old file or the
    new one, never a mix."""
    with new.open(newline="", encoding="utf-8") as handle:
        fresh = {int(row[0]): row for row in list(csv.reader(handle))[1:] if row}
    pending = deque(sorted(fresh))  # rows of ``new`` not written yet, in row order
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(RESULTS_COLUMNS)
            if old.is_file():
                with _results_rows(old) as lines:
                    for line in lines:
                        number = int(line["row"])
                        while pending and pending[0] < number:
                            writer.writerow(fresh[pending.popleft()])
                        if pending and pending[0] == number:
                            writer.writerow(fresh[pending.popleft()])
                        elif number in fresh:
                            continue  # a row the old file names twice: written once already
                        else:
                            writer.writerow([line.get(name) or "" for name in RESULTS_COLUMNS])
            for number in pending:
                writer.writerow(fresh[number])
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        sync_directory(target.parent, quiet=True)  # the rename itself to disk
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
