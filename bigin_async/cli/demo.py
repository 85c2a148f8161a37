"""``python -m bigin_async.cli.demo`` (also ``bigin demo``): the SDK's bulk path end to end, offline.

An emulated Bigin org runs in this process, with a little latency and a few injected failures
(5xx answers, connections dropped after the server applied a write). The demo then:

1. imports 20,000 companies (upsert on ``Account_Name``) and 20,000 contacts linked to them
   (upsert on ``Email``), 100 records a call, 10 calls at a time, with progress bars;
2. exports both back (CSV and JSON lines), streaming page after page past record 2,000;
3. checks the round trip (every record back exactly once, every contact linked to its company)
   and prints the figures and the server's own counters.

Upserts are idempotent, so every failed call is retried safely and nothing is lost or doubled in
spite of the faults: the check at the end proves it from the exported files.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import logging
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from bigin_async.bulk import RecordOutcome

if TYPE_CHECKING:
    from bigin_emulator import BiginEmulator

__all__ = [
    "CLI_INSTALL_HINT",
    "EMULATOR_INSTALL_HINT",
    "DemoOptions",
    "DemoReport",
    "build_parser",
    "emulator_missing",
    "main",
    "rich_missing",
    "run_demo",
]

# The emulator is its own distribution (bigin-emulator), an extra of the SDK's; rich is the cli's.
EMULATOR_INSTALL_HINT = 'pip install "bigin-async[emulator]"'
CLI_INSTALL_HINT = 'pip install "bigin-async[cli]"'

CONTACT_FIELDS = (
    "First_Name",
    "Last_Name",
    "Email",
    "Phone",
    "Title",
    "Account_Name",
    "Mailing_City",
    "Mailing_Country",
)
COMPANY_FIELDS = ("Account_Name", "Phone", "Website", "Industry", "Billing_City", "Billing_Country")


@dataclass
class DemoOptions:
    contacts: int = 20_000
    companies: int = 20_000
    latency: float = 0.01
    fault_rate: float = 0.03
    concurrency: int = 10
    seed: int = 0
    out: Path | None = None
    progress: bool = True


@dataclass
class Phase:
    name: str
    records: int
    seconds: float
    failed: int = 0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


@dataclass
class DemoReport:
    phases: list[Phase] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    counters: dict[str, Any] = field(default_factory=dict)
    client_attempts: int = 0
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(self.checks.values()) and not any(p.failed for p in self.phases)


def emulator_missing(command: str) -> bool:
    """Whether ``bigin_emulator`` cannot be imported; if so, say on stderr how to install it.

    ``bigin demo`` and ``bigin emulator`` run an offline Bigin from the separate ``bigin-emulator``
    package; without it they stop with this one line (exit 2) instead of an ImportError traceback.
    """
    return _missing("bigin_emulator", f"`{command}` needs the Bigin emulator: {EMULATOR_INSTALL_HINT}")


def rich_missing(command: str) -> bool:
    """Whether rich (the ``cli`` extra) cannot be imported; if so, say on stderr how to install it.

    The demo prints its progress and figures with rich; ``python -m bigin_async.cli.demo``
    without it stops with this one line (exit 2) instead of an ImportError traceback.
    """
    return _missing("rich", f"`{command}` needs the cli extra (rich): {CLI_INSTALL_HINT}")


def _missing(module: str, message: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        sys.stderr.write(f"error: {message}\n")
        return True
    return False


def _emulator(options: DemoOptions) -> BiginEmulator:
    from bigin_emulator import BiginEmulator, FaultPlan, ServerLimits

    share = options.fault_rate / 3
    faults = FaultPlan(seed=options.seed, error_500=share, error_503=share, drop_after=share)
    return BiginEmulator(
        seed=options.seed, limits=ServerLimits(latency=options.latency or None), faults=faults
    )


async def run_demo(options: DemoOptions, console: Any) -> DemoReport:
    """Run the demo against a fresh in-process emulator; ``console`` is a rich Console."""
    from bigin_async.cli.exporter import export_records, open_sink
    from bigin_async.cli.progress import ProgressView
    from bigin_emulator.seed import SeedGenerator

    emulator = _emulator(options)
    generator = SeedGenerator(options.seed)
    report = DemoReport()
    out_dir = options.out or Path(tempfile.mkdtemp(prefix="bigin-demo-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    company_ids: list[str | None] = [None] * options.companies

    def keep_id(outcome: RecordOutcome) -> None:
        company_ids[outcome.index] = outcome.id

    # Generous retries with short backoff: the faults are frequent on purpose.
    async with emulator.client(
        max_concurrency=options.concurrency, retry_backoff_seconds=0.05, max_retries=8
    ) as bigin:
        with ProgressView(console, enabled=options.progress) as view:
            started = time.perf_counter()
            companies = await bigin.companies.bulk_upsert(
                generator.companies(options.companies),
                ["Account_Name"],
                on_result=keep_id,
                on_progress=view.bulk_task("companies", options.companies),
            )
            report.phases.append(
                Phase(
                    "import companies",
                    companies.total,
                    time.perf_counter() - started,
                    companies.total - companies.counts["success"],
                )
            )

            accounts = [{"id": i} for i in company_ids if i is not None] or None
            started = time.perf_counter()
            contacts = await bigin.contacts.bulk_upsert(
                generator.contacts(options.contacts, with_accounts=accounts),
                ["Email"],
                keep_outcomes=False,
                on_progress=view.bulk_task("contacts", options.contacts),
            )
            report.phases.append(
                Phase(
                    "import contacts",
                    contacts.total,
                    time.perf_counter() - started,
                    contacts.total - contacts.counts["success"],
                )
            )

            for name, module, fields, filename in (
                ("contacts", bigin.contacts, CONTACT_FIELDS, "contacts.csv"),
                ("companies", bigin.companies, COMPANY_FIELDS, "companies.jsonl"),
            ):
                path = out_dir / filename
                started = time.perf_counter()
                paginator = module.list(fields=list(fields), on_progress=view.count_task(f"export {name}"))
                sink, finish = open_sink(
                    str(path), "csv" if filename.endswith(".csv") else "jsonl", ["id", *fields]
                )
                complete = False
                try:
                    count = await export_records(paginator, sink)
                    complete = True
                finally:
                    finish(complete)
                report.phases.append(Phase(f"export {name}", count, time.perf_counter() - started))
                report.files.append(path)
                view.finish()
        report.client_attempts = bigin.transport.calls
    report.checks = _check_round_trip(options, report.files[0], report.files[1], accounts)
    report.counters = emulator.counters.snapshot()
    if options.out is None:
        shutil.rmtree(out_dir, ignore_errors=True)
    return report


def _check_round_trip(
    options: DemoOptions, contacts_csv: Path, companies_jsonl: Path, accounts: list[dict[str, Any]] | None
) -> dict[str, bool]:
    """Read the exported files back: everything once, nothing more, links intact."""
    from bigin_emulator.seed import SeedGenerator

    generator = SeedGenerator(options.seed)
    company_ids = {account["id"] for account in accounts or ()}
    with contacts_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with companies_jsonl.open(encoding="utf-8") as handle:
        companies = [json.loads(line) for line in handle]
    emails = [row["Email"] for row in rows]
    expected_emails = {
        record["Email"] for record in generator.contacts(options.contacts, with_accounts=accounts)
    }
    names = [record["Account_Name"] for record in companies]
    expected_names = {record["Account_Name"] for record in generator.companies(options.companies)}
    linked = sum(
        1 for row in rows if row["Account_Name"] and json.loads(row["Account_Name"]).get("id") in company_ids
    )
    return {
        f"{len(rows):,} contacts exported, each email once": len(emails)
        == len(set(emails))
        == options.contacts,
        "exported contact emails = generated emails": set(emails) == expected_emails,
        f"{len(companies):,} companies exported, each name once": len(names)
        == len(set(names))
        == options.companies,
        "exported company names = generated names": set(names) == expected_names,
        f"{linked:,} contacts linked to an imported company": linked
        == (options.contacts if company_ids else 0),
    }


def print_report(console: Any, report: DemoReport, options: DemoOptions) -> None:
    from rich.table import Table

    phases = Table(title="bigin demo", header_style="bold")
    for column in ("phase", "records", "failed", "seconds", "records/s"):
        phases.add_column(column, justify="left" if column == "phase" else "right")
    for phase in report.phases:
        phases.add_row(
            phase.name, f"{phase.records:,}", str(phase.failed), f"{phase.seconds:.2f}", f"{phase.rate:,.0f}"
        )
    imported = [p for p in report.phases if p.name.startswith("import")]
    records, seconds = sum(p.records for p in imported), sum(p.seconds for p in imported)
    phases.add_row(
        "[bold]all imports[/]",
        f"{records:,}",
        "",
        f"{seconds:.2f}",
        f"[bold]{records / seconds:,.0f}[/]" if seconds else "-",
    )
    console.print(phases)
    for check, passed in report.checks.items():
        console.print(f"  {'[green]ok[/]' if passed else '[red]FAILED[/]'}  {check}")

    counters = report.counters
    server = Table(title="the server's counters", header_style="bold")
    server.add_column("counter")
    server.add_column("value", justify="right")
    server.add_row("requests received", f"{counters['requests_total']:,}")
    for route, count in sorted(counters["requests_by_route"].items()):
        server.add_row(f"  {route}", f"{count:,}")
    server.add_row(
        "responses by status", ", ".join(f"{k}: {v:,}" for k, v in counters["responses_by_status"].items())
    )
    server.add_row(
        "faults injected",
        ", ".join(f"{k}: {v}" for k, v in sorted(counters["faults_injected"].items())) or "none",
    )
    server.add_row("peak concurrent requests", str(counters["peak_concurrency"]))
    server.add_row("429 answers", str(counters["rate_limited"]))
    server.add_row("most requests in a rolling minute", f"{counters['max_requests_in_rolling_minute']:,}")
    server.add_row("token refreshes", str(counters["refreshes"]))
    server.add_row("attempts sent by the client", f"{report.client_attempts:,}")
    console.print(server)
    console.print(
        f"latency {options.latency * 1000:.0f} ms per call, {options.fault_rate:.0%} of calls faulted, "
        f"{options.concurrency} calls at a time" + (f"; files in {options.out}" if options.out else "")
    )


# The numeric options: the :class:`DemoOptions` field each sets, its type, metavar and help (whose
# ``{}`` is the field's default).
_NUMBER_OPTIONS: tuple[tuple[str, type[int] | type[float], str | None, str], ...] = (
    ("contacts", int, "N", "contacts to import (default {:,})"),
    ("companies", int, "N", "companies to import (default {:,})"),
    ("latency", float, "S", "emulated seconds per call (default {})"),
    ("fault_rate", float, "F", "fraction of calls that fail, 0 to 0.5 (default {})"),
    ("concurrency", int, "N", "calls in flight at once (default {})"),
    ("seed", int, None, "seed of the generated data and faults (default {})"),
)


def build_parser() -> argparse.ArgumentParser:
    """``bigin demo``'s options; the defaults shown are :class:`DemoOptions`'s, the ones used."""
    defaults = DemoOptions()
    parser = argparse.ArgumentParser(
        prog="bigin demo",
        description=textwrap.fill(
            f"Import {defaults.companies:,} companies and {defaults.contacts:,} contacts linked to "
            "them into an emulated Bigin org running in this process, with injected faults (5xx "
            "answers, connections dropped after a write), export them back and check that every "
            "record came back exactly once. Offline: no Zoho account is used.",
            width=78,
        ),
        epilog=(
            "examples:\n  bigin demo\n  bigin demo --contacts 2000 --companies 200 --fault-rate 0.1 "
            "--out demo-files"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for option, kind, metavar, text in _NUMBER_OPTIONS:
        default = getattr(defaults, option)
        parser.add_argument(
            f"--{option.replace('_', '-')}",
            type=kind,
            default=default,
            metavar=metavar,
            help=text.format(default),
        )
    parser.add_argument("--out", type=Path, metavar="DIR", help="keep the exported files in this directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``bigin demo``: 0 when the round trip checks out, 1 when not, 2 on a usage error."""
    args = build_parser().parse_args(argv)
    if emulator_missing("bigin demo") or rich_missing("bigin demo"):
        return 2
    from rich.console import Console

    if args.contacts < 0 or args.companies < 0 or not 0 <= args.fault_rate <= 0.5 or args.latency < 0:
        sys.stderr.write("error: counts must be >= 0, --fault-rate between 0 and 0.5, --latency >= 0\n")
        return 2
    options = DemoOptions(
        contacts=args.contacts,
        companies=args.companies,
        latency=args.latency,
        fault_rate=args.fault_rate,
        concurrency=args.concurrency,
        seed=args.seed,
        out=args.out,
        progress=not args.no_progress,
    )
    console = Console()
    logging.getLogger("bigin_async").setLevel(logging.ERROR)  # retries are the point here; counted below
    report = anyio.run(run_demo, options, console, backend="asyncio")
    print_report(console, report, options)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
