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
from bigin_async.cli.modules import unknown_module_error
from bigin_async.client import BiginClient
from bigin_async.errors import (
    APIError,
    AuthenticationError,
    BiginError,
    ConfigurationError,
    PermissionDeniedError,
    ValidationError,
)

if TYPE_CHECKING:
    from rich.console import Console

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
exit codes: 0 all done; 1 some records failed or have an unknown fate (see the results file), or
the export did not complete; 2 usage or auth error (nothing more was sent); 130 interrupted
(run the same command again: --journal resumes an import, --resume an export)."""


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
    from bigin_async.cli.demo import DemoOptions

    epilog = _epilog()
    demo = DemoOptions()
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
    imp.add_argument(
        "--results",
        type=Path,
        metavar="PATH",
        help="the results CSV, one line per row (default: NAME.results.csv next to FILE, for FILE NAME.csv "
        "or NAME.jsonl)",
    )
    imp.add_argument("--format", choices=("csv", "jsonl"), help="input format (default: from the file name)")
    imp.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="the CSV's separator: ',', ';', tab, '|', ... (default: read off the header line; a header "
        "holding two of them is refused)",
    )
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="read and check every row (columns, mandatory fields, the --unique value, types) with one "
        "metadata call, send nothing, and say what would be sent (exit 1 if a row would be refused)",
    )
    again = imp.add_mutually_exclusive_group()
    again.add_argument(
        "--retry-unknown",
        action="store_true",
        help="send again only the rows the results file (--results, or the default) gives as unknown, as "
        "an upsert on --unique (default: the module's unique field, Email for Contacts); the results "
        "file then holds every row's final fate",
    )
    again.add_argument(
        "--only-rows",
        type=Path,
        metavar="FILE",
        help="send only the rows whose numbers FILE's 'row' column holds (a results file, filtered as "
        "you like: e.g. its error lines), or a file of one row number per line; their lines in the "
        "results file are replaced, the others kept",
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
    exp.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        help="default: from the output name (.csv, .jsonl, .ndjson); jsonl for -o -",
    )
    exp.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="output file (written as FILE.part, renamed when complete), or - for standard output",
    )
    exp.add_argument("--max-records", type=int, metavar="N", help="stop after N records")
    exp.add_argument("--sort-by", metavar="FIELD")
    exp.add_argument("--sort-order", choices=("asc", "desc"))
    exp.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted export from FILE.part (same options; not for -o -)",
    )
    _via_options(
        exp,
        "pages of 200 records (1 credit each), Bigin's Bulk Read jobs (200,000 records for 50 credits, "
        f"after a wait in Bigin's queue), or auto: jobs above {AUTO_JOBS_THRESHOLD_READ:,} records "
        "(default auto)",
    )
    _connection_options(exp)

    results = commands.add_parser(
        "results",
        help="summarise the results file of a `bigin import`: rows by status and action, failures by code",
        description="Summarise the results file of a `bigin import`: rows by status and by action, "
        "failures by Zoho's code (most frequent first), and the rows whose fate is unknown. "
        "Exit 0 if every row succeeded, 1 otherwise, 2 if FILE is not a results file.",
    )
    results.add_argument("results_file", metavar="FILE", type=Path, help="a results CSV bigin import wrote")
    results.set_defaults(verbose=False, no_progress=True)  # it reads a file: no log, no bar

    _attachments_parser(commands, epilog)
    commands.add_parser(
        "emulator",
        help="serve an offline Bigin on a loopback port, or seed one to a file (`bigin emulator --help`)",
        add_help=False,
    )
    commands.add_parser(
        "demo",
        help=f"import and export {demo.contacts:,} contacts and {demo.companies:,} companies, offline",
        add_help=False,
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
    from bigin_async.cli.importer import ImportMode, ImportOptions, retry_unique_fields
    from bigin_async.cli.sources import ColumnMap, detect_format, parse_delimiter

    unique = [name.strip() for item in args.unique or () for name in item.split(",") if name.strip()] or None
    module = module_api_name(args.module)
    if args.retry_unknown:
        if args.mode not in (None, "upsert"):
            raise UsageError(
                f"--retry-unknown sends the rows again as an upsert (a lost insert may be in Bigin), "
                f"not as --mode {args.mode}"
            )
        unique = retry_unique_fields(module, unique)
    if (args.retry_unknown or args.only_rows) and args.journal:
        flag = "--retry-unknown" if args.retry_unknown else "--only-rows"
        raise UsageError(
            f"{flag} sends a few rows again: run it without --journal (the results file is updated)"
        )
    mode: ImportMode = args.mode or ("upsert" if unique else "create")
    if args.batch_size is not None and not 1 <= args.batch_size <= 100:
        raise UsageError("--batch-size must be between 1 and 100 (Bigin's limit per call)")
    _check_poll_interval(args)
    fmt = detect_format(args.file, args.format)
    if args.delimiter is not None and fmt != "csv":
        raise UsageError("--delimiter applies to CSV files")
    return ImportOptions(
        module=module,
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
        dry_run=args.dry_run,
        retry_unknown=args.retry_unknown,
        only_rows=args.only_rows,
    )


def _check_poll_interval(args: argparse.Namespace) -> None:
    if not (0 <= args.poll_interval <= 3600):
        raise UsageError("--poll-interval must be between 0 and 3600 seconds")


def _export_options(args: argparse.Namespace) -> ExportOptions:
    from bigin_async.cli.exporter import ExportOptions

    fmt = args.format
    if args.output == "-" and args.resume:
        raise UsageError("--resume continues a file; standard output (-o -) cannot be resumed")
    if fmt is None and args.output == "-":
        fmt = "jsonl"  # a record a line: what jq, grep and head read from a pipe
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
        resume=args.resume,
    )


def _print_import(console: Console, report: ImportReport) -> None:
    from bigin_async.cli.summary import print_import

    print_import(console, report)


def _print_export(console: Console, report: ExportReport) -> None:
    from bigin_async.cli.progress import format_rate

    where = "standard output" if report.output == "-" else report.output
    # One rate: the records this run wrote over its walk's time (the bar's final figure too).
    rate = format_rate(report.this_run, report.elapsed)
    if report.resumed_from:
        done = f"exported {report.this_run:,} more records ({report.count:,} in all)"
    else:
        done = f"exported {report.count:,} records"
    console.print(f"{done} to {where} in {report.elapsed:.1f} s ({rate}) via {report.via}", highlight=False)
    for note in report.notes:
        console.print(note, highlight=False)
    if report.credits is not None:
        from bigin_async.cli.summary import credits_line

        console.print(credits_line(report.credits), highlight=False)


def _print_export_stopped(console: Console, args: argparse.Namespace) -> None:
    """After an export stopped part way: what it kept and how ``--resume`` continues it."""
    if getattr(args, "command", None) != "export":
        return
    from bigin_async.cli.exporter import resume_hint

    hint = resume_hint(args.output)
    if hint is not None:
        console.print(hint, highlight=False)


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
    from bigin_async.cli.importer import ImportOptions, run_dry_run, run_import
    from bigin_async.cli.progress import ProgressView

    err = err or Console(stderr=True)
    out = out or Console()
    if args.command == "export" and args.output == "-":
        out = err  # the records own standard output
    try:
        if args.command == "results":
            from bigin_async.cli.results import print_results_summary, summarise_results

            summary = summarise_results(args.results_file)
            print_results_summary(out, summary)
            return EXIT_OK if summary.ok else EXIT_FAILED
        if args.command == "attachments":
            from bigin_async.cli.attachments import attachments_options, run_attachments

            files = attachments_options(args)
            async with connect(args) as client:
                done = await run_attachments(client, files, out, err)
            return EXIT_OK if done else EXIT_FAILED
        options = _import_options(args) if args.command == "import" else _export_options(args)
        if isinstance(options, ImportOptions) and options.dry_run:
            from bigin_async.cli.summary import print_dry_run

            async with connect(args) as client:
                dry = await run_dry_run(client, options)
            dry.credits = client.credits
            print_dry_run(out, dry)
            return EXIT_OK if dry.ok else EXIT_FAILED
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
            if report.aborted is not None and _invalid_module(report.aborted.__cause__):
                err.print(f"[red]error:[/] {escape(str(unknown_module_error(args.module)))}", highlight=False)
                return EXIT_USAGE
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
        _print_export_stopped(err, args)
        return EXIT_USAGE
    except BiginError as error:
        if _invalid_module(error):  # a typo in MODULE, found by the first call: that call only
            err.print(f"[red]error:[/] {escape(str(unknown_module_error(args.module)))}", highlight=False)
            return EXIT_USAGE
        err.print(f"[red]failed:[/] {escape(str(error))}", highlight=False)
        _print_export_stopped(err, args)
        return EXIT_FAILED


def _invalid_module(error: BaseException | None) -> bool:
    """Bigin's answer to a module name it does not have (``INVALID_MODULE``)."""
    return isinstance(error, APIError) and error.code == "INVALID_MODULE"


def main(argv: Sequence[str] | None = None) -> int:
    """The ``bigin`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments[:1] == ["emulator"]:  # the emulator's own command line: it needs no rich
            from bigin_async.cli.demo import emulator_missing

            if emulator_missing("bigin emulator"):
                return EXIT_USAGE
            from bigin_emulator.cli import main as emulator_main

            return emulator_main(arguments[1:], prog="bigin emulator")
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        import rich  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the installation
        sys.stderr.write(
            'error: the bigin command needs the cli extra (rich): pip install "bigin-async[cli]"\n'
        )
        return EXIT_USAGE
    try:
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
        _print_export_stopped(err, args)
        return EXIT_INTERRUPTED
