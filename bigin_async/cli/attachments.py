"""``bigin attachments upload|download|list``: a record's attached files, for scripts.

``upload`` checks every file before sending any (a missing file or one over Bigin's size limit
sends nothing), then attaches them one after another; an upload whose answer was lost is
reported as unknown and never sent again, since Bigin could have attached it already (two
copies of a contract is worse than a line that says "check"). ``download`` saves the named
attachments, or with no ids every file attached to the record, into a directory under the
names Bigin lists them by (one listed without a name, under the name its download's answer
gives); two attachments of one name get ``name (2).ext`` rather than one overwriting the other.
Link attachments (``attach_link``) have no file: they are named and skipped. ``list`` prints a
table, or with ``--json`` one JSON array, for ``jq``.

Text from Bigin (names, links, errors) is printed with its control and format characters shown
as ``?`` (in ``--json``, as ``\\uXXXX`` escapes): a file name cannot move the cursor, retitle the
terminal or reverse the text it is shown in.

Exit codes are the ``bigin`` command's: 0 every file done, 1 some failed or have an unknown
fate, 2 a usage or authentication error.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bigin_async._download import _HIDDEN, _MAX_NAME_BYTES, safe_filename
from bigin_async.cli.common import UsageError, module_api_name
from bigin_async.errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BiginError,
    BudgetExhaustedError,
    PermissionDeniedError,
)
from bigin_async.resources.attachments import MAX_ATTACHMENT_BYTES, AttachmentsClient

if TYPE_CHECKING:
    from rich.console import Console

    from bigin_async._download import Download
    from bigin_async.client import BiginClient
    from bigin_async.models.attachments import Attachment

__all__ = ["AttachmentsOptions", "attachments_options", "run_attachments"]

Action = Literal["upload", "download", "list"]


@dataclass
class AttachmentsOptions:
    action: Action
    module: str  # Bigin's API name
    record_id: str
    files: list[Path] = field(default_factory=list)  # upload
    attachment_ids: list[str] = field(default_factory=list)  # download; empty: every file
    to: Path = Path()  # download
    json: bool = False  # list


def attachments_options(args: Any) -> AttachmentsOptions:
    """The parsed ``bigin attachments ...`` arguments, checked (a :class:`UsageError` says why)."""
    action: Action = args.action
    module = module_api_name(args.module)
    ids = list(dict.fromkeys(getattr(args, "attachment_ids", None) or ()))  # each once, in order
    return AttachmentsOptions(
        action=action,
        module=module,
        record_id=args.record_id,
        files=list(getattr(args, "files", None) or ()),
        attachment_ids=ids,
        to=Path(getattr(args, "to", None) or "."),
        json=bool(getattr(args, "json", False)),
    )


def _hidden(character: str) -> bool:
    """A control, format (bidi, zero-width), line or paragraph separator character: one a terminal
    may act on (an escape sequence) or that hides the text around it."""
    return unicodedata.category(character) in _HIDDEN


def _shown(text: str) -> str:
    """``text`` fit for a terminal: each hidden character (:func:`_hidden`) shown as ``?``."""
    return "".join("?" if _hidden(character) else character for character in text)


def _say(console: Console, text: str) -> None:
    """One line as it is, its hidden characters shown as ``?``: no markup, no colours guessed,
    never wrapped (scripts read these)."""
    console.print(_shown(text), markup=False, highlight=False, soft_wrap=True)


def _check_files(files: Sequence[Path]) -> None:
    """Refuse the whole upload, before anything is sent, when any file cannot go."""
    problems = []
    for path in files:
        try:
            size = path.stat().st_size
        except OSError as error:
            problems.append(f"{path}: {error.strerror or error}")
            continue
        if not path.is_file():
            problems.append(f"{path}: not a regular file")
        elif size > MAX_ATTACHMENT_BYTES:
            problems.append(f"{path}: {size:,} bytes, over Bigin's {MAX_ATTACHMENT_BYTES:,} an attachment")
    if problems:
        raise UsageError("nothing was uploaded: " + "; ".join(problems))


def _refused(error: BiginError) -> bool:
    """Errors no other file of the run would escape (no access, no credits left, a module Bigin
    does not have): stop there."""
    invalid_module = isinstance(error, APIError) and error.code == "INVALID_MODULE"
    return invalid_module or isinstance(
        error, (AuthenticationError, PermissionDeniedError, BudgetExhaustedError)
    )


async def _upload(
    attachments: AttachmentsClient, options: AttachmentsOptions, out: Console, err: Console
) -> bool:
    _check_files(options.files)
    failed = unknown = 0
    for index, path in enumerate(options.files):
        try:
            attachment = await attachments.upload(path)
        except AmbiguousWriteError:
            unknown += 1
            _say(
                err,
                f"unknown: {path} may or may not have been attached (the answer was lost); it was not "
                f"sent again: see `bigin attachments list {options.module} {options.record_id}`",
            )
            continue
        except BiginError as error:
            if _refused(error):
                _not_sent(err, options.files[index + 1 :])
                raise
            failed += 1
            _say(err, f"failed: {path}: {error}")
            continue
        _say(out, f"uploaded {path} as attachment {attachment.id}")
    return not (failed or unknown)


def _not_sent(err: Console, files: Sequence[Path]) -> None:
    if files:
        _say(err, "not sent: " + ", ".join(map(str, files)))


def _numbered(name: str, number: int) -> str:
    """``name`` (a :func:`safe_filename` name) as ``stem (number).ext``, its stem cut first so the
    whole still fits the longest name :func:`safe_filename` gives."""
    if number == 1:
        return name
    path = Path(name)
    stem, suffix = (path.stem, path.suffix) if len(path.suffix) < 16 else (name, "")
    tail = f" ({number}){suffix}"
    room = _MAX_NAME_BYTES - len(tail.encode())
    return stem.encode()[:room].decode(errors="ignore") + tail  # a character cut in two is dropped


def _unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``stem (2).ext``, ``stem (3).ext``, ... when this run already saved one by that name.

    Each number gives another name (they end in a different ``(n)``), so of the first
    ``len(taken) + 1`` one is free: the search ends without a loop that could run forever."""
    candidates = (_numbered(name, number) for number in range(1, len(taken) + 2))
    candidate = next(c for c in candidates if c.casefold() not in taken)
    taken.add(candidate.casefold())
    return candidate


async def _chosen(
    attachments: AttachmentsClient, options: AttachmentsOptions, err: Console
) -> tuple[list[Attachment], int]:
    """The record's attachments to download (all, or the ids asked for, in their order) and how
    many of the ids asked for it does not have."""
    listed = [attachment async for attachment in attachments.list()]
    if not options.attachment_ids:
        return listed, 0
    by_id = {attachment.id: attachment for attachment in listed}
    chosen, missing = [], 0
    for attachment_id in options.attachment_ids:
        attachment = by_id.get(attachment_id)
        if attachment is None:
            missing += 1
            _say(
                err, f"failed: {options.module} record {options.record_id} has no attachment {attachment_id}"
            )
        else:
            chosen.append(attachment)
    return chosen, missing


class _IsADirectory(Exception):
    """The path an attachment would be saved to is a directory (the SDK would save into it)."""


def _free(directory: Path, name: str, taken: set[str]) -> Path:
    """Where a file of this name goes: ``name`` or ``name (2)``..., never a directory."""
    target = directory / _unique_name(name, taken)
    if target.is_dir():
        raise _IsADirectory(target)
    return target


async def _save(
    attachments: AttachmentsClient, attachment: Attachment, directory: Path, taken: set[str]
) -> Download:
    """Save one attachment in ``directory`` under a name no other file of this run has.

    Its listed name, made safe, is known before sending. One listed without a name is named
    only by the download's answer: it is saved by the SDK (part file, fsync, safe name) in a
    hidden directory of its own, then moved to its free name; nothing is left of it on failure.
    """
    if attachment.File_Name:
        return await attachments.download(
            attachment.id, to=_free(directory, safe_filename(attachment.File_Name), taken)
        )
    holding = Path(tempfile.mkdtemp(prefix=".bigin-download-", dir=directory))
    try:
        download = await attachments.download(attachment.id, to=holding)
        target = _free(directory, download.path.name, taken)
        download.path.replace(target)
        return dataclasses.replace(download, path=target)
    finally:
        shutil.rmtree(holding, ignore_errors=True)


async def _download(
    attachments: AttachmentsClient, options: AttachmentsOptions, out: Console, err: Console
) -> bool:
    directory = options.to
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--to {directory}: not a directory")
    chosen, failed = await _chosen(attachments, options, err)
    directory.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    saved = 0
    for attachment in chosen:
        if attachment.is_link:
            if options.attachment_ids:
                failed += 1
            _say(err, f"skipped: attachment {attachment.id} is a link ({attachment.link_url}), not a file")
            continue
        try:
            download = await _save(attachments, attachment, directory, taken)
        except _IsADirectory as error:
            failed += 1
            _say(err, f"failed: attachment {attachment.id}: {error} is a directory; not saved")
            continue
        except BiginError as error:
            if _refused(error):
                raise
            failed += 1
            _say(err, f"failed: attachment {attachment.id}: {error}")
            continue
        saved += 1
        _say(out, f"saved {download.path} ({download.size:,} bytes)")
    if not chosen and not failed:
        _say(out, f"{options.module} record {options.record_id} has no attachments")
    return not failed


def _dump(attachment: Attachment) -> dict[str, Any]:
    data: dict[str, Any] = attachment.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return data


async def _list(attachments: AttachmentsClient, options: AttachmentsOptions, out: Console) -> bool:
    rows = [attachment async for attachment in attachments.list()]
    if options.json:
        text = json.dumps([_dump(a) for a in rows], ensure_ascii=False, indent=2)
        # Hidden characters only occur inside JSON strings: escaped there, jq still reads them.
        text = "".join(json.dumps(c)[1:-1] if c != "\n" and _hidden(c) else c for c in text)
        out.file.write(text + "\n")
        out.file.flush()
        return True
    if not rows:
        _say(out, f"{options.module} record {options.record_id} has no attachments")
        return True
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=True, header_style="bold", box=None)
    for name, justify in (
        ("id", "left"),
        ("name", "left"),
        ("size", "right"),
        ("type", "left"),
        ("created", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for attachment in rows:
        size = f"{attachment.Size:,}" if attachment.Size is not None else ""
        name = attachment.File_Name or attachment.link_url or ""
        cells = (attachment.id, name, size, attachment.type or "", str(attachment.Created_Time or ""))
        table.add_row(*(Text(_shown(cell)) for cell in cells))  # never read as markup
    out.print(table)
    return True


async def run_attachments(
    client: BiginClient, options: AttachmentsOptions, out: Console, err: Console
) -> bool:
    """Run one ``bigin attachments`` action: True when every file was done (each failure has its
    line on ``err``); an error the whole run meets (no access, a usage error) is raised."""
    module = client.module(options.module)
    attachments = module.attachments(options.record_id)
    if options.action == "upload":
        return await _upload(attachments, options, out, err)
    if options.action == "download":
        return await _download(attachments, options, out, err)
    return await _list(attachments, options, out)
