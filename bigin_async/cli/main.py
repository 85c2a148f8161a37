"""The ``bigin`` command: argument parsing, exit codes, and the summaries printed at the end.

Exit codes: 0 every record (or file) done; 1 some records or files failed or have an unknown
fate (the results file, or the lines printed, say which) or the export did not complete; 2 a
usage or authentication error (nothing, or nothing more, could be sent); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from bigin_async.bulk.jobs import AUTO_JOBS_THRESHOLD_READ
from bigin_async.bulk.jobs.via import AUTO_JOBS_THRESHOLD_WRITE
from bigin_async.cli.common import EMULATOR_URL, UsageError, client_from_args, module_api_name
from bigin_async.client import BiginClient
from bigin_async.errors import (
    AuthenticationError,
    BiginError,
    ConfigurationError,
    PermissionDeniedError,
    ValidationError,
)

if TYPE_CHECKING:
    from rich.console import Console

    from bigin_async import CreditsReport
    from bigin_async.cli.exporter import ExportOptions, ExportReport
    from bigin_async.cli.importer import ImportOptions, ImportReport

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "run_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
Connect = Callable[[argparse.Namespace], BiginClient]


def _epilog() -> str:
    from bigin_async.cli.common import default_token_dir

    return f"""\
credentials: BIGIN_CLIENT_ID, BIGIN_CLIENT_SECRET, BIGIN_REFRESH_TOKEN (+ BIGIN_REGION, BIGIN_EDITION,
BIGIN_REQUESTS_PER_MINUTE, ...), or --emulator URL for a `bigin emulator` on this machine.
access token: kept between runs (Zoho allows 10 refreshes in 10 minutes) in a file of its own per
client id and data centre, mode 0600, under {default_token_dir()}
(--token-file PATH or BIGIN_TOKEN_FILE to keep it elsewhere; nothing is written for --emulator).
exit codes: 0 all done, 1 some records failed (see the results file), 2 usage or auth error."""


def _connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--emulator",
        nargs="?",
        const=EMULATOR_URL,
        metavar="URL",
        help=f"use a running `bigin emulator` (default {EMULATOR_URL}) instead of BIGIN_* credentials",
    )
    group.add_argument(
        "--token-file",
        metavar="PATH",
        help="keep the access token in this file "
        "(default: BIGIN_TOKEN_FILE, else a per-user file; see below)",
    )
    group.add_argument(
        "--content-domain",
        metavar="URL",
        help="the file host of Bulk Write uploads (default: BIGIN_CONTENT_DOMAIN, else the data "
        "centre's content.zohoapis.*; an emulator's must be given)",
    )
    group.add_argument(
        "--max-concurrency", type=int, metavar="N", help="calls in flight at once (default 10)"
    )
    group.add_argument(
        "--requests-per-minute", type=int, metavar="N", help="cap the call rate (default: none)"
    )
    group.add_argument(
        "--redis",
        metavar="URL",
        help="share the org's limits and access token with every process using this Redis "
        "(redis://host:6379/0; default: BIGIN_REDIS_URL; needs bigin-async[redis])",
    )
    group.add_argument(
        "--redis-namespace",
        metavar="NS",
        help="the namespace of the Redis keys (default: BIGIN_REDIS_NAMESPACE, else bigin)",
    )
    group.add_argument("--no-progress", action="store_true", help="no progress bars")
    group.add_argument("-v", "--verbose", action="store_true", help="log every retry and refresh")


def _via_options(parser: argparse.ArgumentParser, via_help: str) -> None:
    from bigin_async.cli.via import VIA_CHOICES

    parser.add_argument("--via", choices=VIA_CHOICES, default="auto", help=via_help)
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="first wait between a job's status checks (doubling while it stays put, up to 12x; default 5)",
    )


def build_parser() -> argparse.ArgumentParser:
    epilog = _epilog()
    parser = argparse.ArgumentParser(
        prog="bigin",
        description="Import, export and try out Zoho Bigin data; upload and download attachments.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    imp = commands.add_parser(
        "import",
        help="import a CSV or JSON-lines file into a module",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument(
        "module", metavar="MODULE", help="Contacts, Companies, Deals, Products, ... (or an API name)"
    )
    imp.add_argument(
        "file", metavar="FILE", type=Path, help="a .csv (header row of field names) or .jsonl file"
    )
    imp.add_argument(
        "--mode", choices=("create", "upsert", "update"), help="default: upsert with --unique, else create"
    )
    imp.add_argument(
        "--unique",
        action="append",
        metavar="FIELD",
        help="upsert's duplicate-check field (repeat or comma-separate; default: the module's own)",
    )
    imp.add_argument(
        "--map",
        action="append",
        metavar="COL=Field",
        dest="mapping",
        help="column COL holds Field (Field.id: a lookup by id; COL= leaves the column out)",
    )
    imp.add_argument("--journal", metavar="PATH", help="log progress here; re-running the command resumes")
    imp.add_argument("--results", type=Path, metavar="PATH", help="results CSV (default FILE.results.csv)")
    imp.add_argument("--format", choices=("csv", "jsonl"), help="input format (default: from the file name)")
    imp.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="the CSV's separator: ';', tab, '|', ... (default ','; a file that uses another is refused)",
    )
    imp.add_argument(
        "--ignore-unknown-columns",
        action="store_true",
        help="leave out columns that are not fields of the module (default: refuse the file)",
    )
    imp.add_argument("--no-workflows", action="store_true", help="send trigger=[] so Bigin runs no workflows")
    imp.add_argument(
        "--batch-size", type=int, metavar="N", help="records per call (at most 100, the default; calls only)"
    )
    _via_options(
        imp,
        "calls of 100 records (1 credit per 10 records), Bigin's Bulk Write jobs (25,000 records "
        "for 500 credits, after a wait in Bigin's queue), or auto: jobs above "
        f"{AUTO_JOBS_THRESHOLD_WRITE:,} rows (default auto)",
    )
    imp.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="keep the jobs' CSV parts and result files here (default: next to --journal, else temporary)",
    )
    _connection_options(imp)

    exp = commands.add_parser(
        "export",
        help="export a module's records (or a search) to CSV or JSON lines",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    exp.add_argument("module", metavar="MODULE")
    exp.add_argument(
        "--fields", help="comma-separated API names, or 'all' (default: the module's usual fields)"
    )
    exp.add_argument(
        "--criteria", help="a search, e.g. '(Mailing_City:equals:Paris)' (at most 2,000 records)"
    )
    exp.add_argument("--format", choices=("csv", "jsonl"), help="default: from the output name")
    exp.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="output file, or - for standard output"
    )
    exp.add_argument("--max-records", type=int, metavar="N")
    exp.add_argument("--sort-by", metavar="FIELD")
    exp.add_argument("--sort-order", choices=("asc", "desc"))
    _via_options(
        exp,
        "pages of 200 records (1 credit each), Bigin's Bulk Read jobs (200,000 records for 50 credits, "
        f"after a wait in Bigin's queue), or auto: jobs above {AUTO_JOBS_THRESHOLD_READ:,} records "
        "(default auto)",
    )
    _connection_options(exp)

    _attachments_parser(commands, epilog)
    commands.add_parser(
        "emulator",
        help="serve an offline Bigin on a loopback port, or seed one to a file (`bigin emulator --help`)",
        add_help=False,
    )
    commands.add_parser(
        "demo", help="import and export 20,000 contacts and companies against the emulator", add_help=False
    )
    return parser


def _attachments_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """``bigin attachments upload|download|list MODULE ID ...`` (see :mod:`bigin_async.cli.attachments`)."""
    parser = commands.add_parser(
        "attachments",
        help="upload, download or list the files attached to a record",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    module_help = "Contacts, Companies, Deals, Products, Tasks, Events, Calls (or an API name)"
    upload = actions.add_parser(
        "upload",
        help="attach files to a record (all checked before the first is sent)",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    download = actions.add_parser(
        "download",
        help="save a record's attachments (all of them, or the ids given) into a directory",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing = actions.add_parser(
        "list",
        help="list a record's attachments",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for action in (upload, download, listing):
        action.add_argument("module", metavar="MODULE", help=module_help)
        action.add_argument("record_id", metavar="ID", help="the record's id")
    upload.add_argument("files", metavar="FILE", nargs="+", type=Path, help="files to attach, in order")
    download.add_argument(
        "attachment_ids",
        metavar="ATTACHMENT_ID",
        nargs="*",
        help="default: every file attached to the record",
    )
    download.add_argument(
        "--to", type=Path, metavar="DIR", help="save into this directory (created if missing; default: here)"
    )
    listing.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    for action in (upload, download, listing):
        _connection_options(action)


def _import_options(args: argparse.Namespace) -> ImportOptions:
    from bigin_async.cli.importer import ImportMode, ImportOptions
    from bigin_async.cli.sources import ColumnMap, detect_format, parse_delimiter

    unique = [name.strip() for item in args.unique or () for name in item.split(",") if name.strip()] or None
    mode: ImportMode = args.mode or ("upsert" if unique else "create")
    if args.batch_size is not None and not 1 <= args.batch_size <= 100:
        raise UsageError("--batch-size must be between 1 and 100 (Bigin's limit per call)")
    _check_poll_interval(args)
    fmt = detect_format(args.file, args.format)
    if args.delimiter is not None and fmt != "csv":
        raise UsageError("--delimiter applies to CSV files")
    return ImportOptions(
        module=module_api_name(args.module),
        path=args.file,
        fmt=fmt,
        mode=mode,
        unique=unique,
        mapping=ColumnMap.parse(args.mapping),
        journal=args.journal,
        results=args.results,
        workflows=not args.no_workflows,
        batch_size=args.batch_size,
        delimiter=parse_delimiter(args.delimiter),
        ignore_unknown_columns=args.ignore_unknown_columns,
        via=args.via,
        poll_interval=args.poll_interval,
        workdir=args.workdir,
    )


def _check_poll_interval(args: argparse.Namespace) -> None:
    if not (0 <= args.poll_interval <= 3600):
        raise UsageError("--poll-interval must be between 0 and 3600 seconds")


def _export_options(args: argparse.Namespace) -> ExportOptions:
    from bigin_async.cli.exporter import ExportOptions

    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lower()
        fmt = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(suffix)
        if fmt is None:
            raise UsageError("pass --format csv|jsonl (the output name does not say)")
    if args.max_records is not None and args.max_records < 1:
        raise UsageError("--max-records must be at least 1")
    _check_poll_interval(args)
    return ExportOptions(
        module=module_api_name(args.module),
        output=args.output,
        fmt=fmt,
        fields=args.fields,
        criteria=args.criteria,
        max_records=args.max_records,
        sort_by=args.sort_by,
        sort_order=args.sort_order,
        via=args.via,
        poll_interval=args.poll_interval,
    )


def _print_import(console: Console, report: ImportReport) -> None:
    from rich.table import Table

    from bigin_async.cli.progress import format_rate

    summary = report.result.summary()
    table = Table(title="import", show_header=True, header_style="bold")
    for name in (
        "rows",
        "this run",
        "inserted",
        "updated",
        "failed",
        "unknown",
        "skipped (journal)",
        "time",
        "rate",
    ):
        table.add_column(name, justify="right")
    table.add_row(
        f"{summary['total']:,}",
        f"{report.this_run:,}",
        f"{report.done_now['insert']:,}",
        f"{report.done_now['update']:,}",
        f"[red]{summary['failed']:,}[/]" if summary["failed"] else "0",
        f"[red]{summary['unknown']:,}[/]" if summary["unknown"] else "0",
        f"{summary['skipped']:,}",
        f"{report.elapsed:.1f} s",
        format_rate(report.this_run, report.elapsed),
    )
    console.print(table)
    if report.route is not None:
        console.print(f"via {report.route.via} ({report.route.reason})", highlight=False)
    if report.credits is not None:
        console.print(_credits_line(report.credits), highlight=False)
    journal_line = report.journal_summary()
    if journal_line:
        console.print(journal_line, highlight=False)
    console.print(f"results: {report.results_path}")
    if report.ignored_columns:
        ignored = ", ".join(map(repr, report.ignored_columns))
        console.print(f"ignored columns (not fields of the module, not sent): {ignored}", highlight=False)
    if not report.columns_checked:
        console.print("[yellow]column names not checked: the module's field list could not be read[/]")
    if summary["unknown"]:
        console.print(
            "[yellow]unknown: inserts whose answer was lost; they were not re-sent to avoid duplicates. "
            "Re-import those rows with --mode upsert --unique <field>.[/]"
        )
    if report.aborted is not None:
        console.print(f"[red]stopped: {report.aborted}[/]")
        if report.total_rows > summary["total"]:
            console.print(
                f"rows after row {summary['total']:,} were not sent; "
                "fix the cause and run the same command again"
                + (" (the journal resumes where it stopped)" if report.journal else "")
            )


def _print_export(console: Console, report: ExportReport) -> None:
    from bigin_async.cli.progress import format_rate

    where = "standard output" if report.output == "-" else report.output
    console.print(
        f"exported {report.count:,} records to {where} in {report.elapsed:.1f} s "
        f"({format_rate(report.count, report.elapsed)}) via {report.via}",
        highlight=False,
    )
    if report.credits is not None:
        console.print(_credits_line(report.credits), highlight=False)


def _credits_line(credits: CreditsReport) -> str:
    """What the run cost in Zoho's API credits, as the client counted them (Zoho's own count rules)."""
    line = f"credits: {credits.spent_total:,} spent by this run"
    if credits.remaining is not None and credits.limit is not None:
        line += f" ({credits.remaining:,} of the {credits.limit:,} a day left)"
    return line


def _configure_logging(console: Console, verbose: bool) -> None:
    from rich.logging import RichHandler

    handler = RichHandler(console=console, show_path=False, show_time=False)
    logger = logging.getLogger("bigin_async")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.ERROR)
    logger.propagate = False


async def run_command(
    args: argparse.Namespace,
    *,
    connect: Connect = client_from_args,
    out: Console | None = None,
    err: Console | None = None,
) -> int:
    """Run ``import``, ``export`` or ``attachments`` and return the exit code (``main`` without the
    process around it)."""
    from rich.console import Console
    from rich.markup import escape

    from bigin_async.cli.exporter import run_export
    from bigin_async.cli.importer import ImportOptions, run_import
    from bigin_async.cli.progress import ProgressView

    err = err or Console(stderr=True)
    out = out or Console()
    if args.command == "export" and args.output == "-":
        out = err  # the records own standard output
    try:
        if args.command == "attachments":
            from bigin_async.cli.attachments import attachments_options, run_attachments

            files = attachments_options(args)
            async with connect(args) as client:
                done = await run_attachments(client, files, out, err)
            return EXIT_OK if done else EXIT_FAILED
        options = _import_options(args) if args.command == "import" else _export_options(args)
        async with connect(args) as client:
            with ProgressView(err, enabled=not args.no_progress and err.is_terminal) as view:
                if isinstance(options, ImportOptions):
                    report = await run_import(client, options, view)
                    report.credits = client.credits
                else:
                    exported = await run_export(client, options, view)
                    exported.credits = client.credits
        if isinstance(options, ImportOptions):
            _print_import(out, report)
            if report.aborted is not None and isinstance(
                report.aborted.__cause__, (AuthenticationError, PermissionDeniedError)
            ):
                return EXIT_USAGE
            return EXIT_OK if report.ok else EXIT_FAILED
        _print_export(out, exported)
        return EXIT_OK
    except (UsageError, ConfigurationError, ValidationError) as error:
        err.print(f"[red]error:[/] {escape(str(error))}", highlight=False)
        return EXIT_USAGE
    except (AuthenticationError, PermissionDeniedError) as error:
        err.print(f"[red]not authorised:[/] {escape(str(error))}", highlight=False)
        return EXIT_USAGE
    except BiginError as error:
        err.print(f"[red]failed:[/] {escape(str(error))}", highlight=False)
        return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """The ``bigin`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        import rich  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the installation
        sys.stderr.write("the bigin command needs the cli extra: pip install 'bigin-async[cli]'\n")
        return EXIT_USAGE
    try:
        if arguments[:1] == ["emulator"]:
            from bigin_async.cli.demo import emulator_missing

            if emulator_missing("bigin emulator"):
                return EXIT_USAGE
            from bigin_emulator.cli import main as emulator_main

            return emulator_main(arguments[1:], prog="bigin emulator")
        if arguments[:1] == ["demo"]:
            from bigin_async.cli.demo import main as demo_main

            return demo_main(arguments[1:])
        args = build_parser().parse_args(arguments)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    from rich.console import Console

    err = Console(stderr=True)
    _configure_logging(err, args.verbose)
    try:
        return anyio.run(lambda: run_command(args, err=err))
    except KeyboardInterrupt:
        err.print(
            "interrupted"
            + (
                ": run the same command again to resume (the journal has the progress)"
                if getattr(args, "journal", None)
                else ""
            )
        )
        return EXIT_INTERRUPTED
