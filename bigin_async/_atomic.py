"""Making a file's name durable: fsync the directory that holds it.

A file written and fsynced is on disk, but its name (a new file, or one renamed into place with
``os.replace``) lives in its directory: after a power cut the directory may not know it yet, and
the file is lost or the rename undone. Journals, downloads and results files all sync the
directory after creating or renaming a file; this is the one piece that does it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["sync_directory"]


def sync_directory(directory: Path, *, quiet: bool = False) -> None:
    """fsync ``directory``, so the names just created or renamed in it survive a power cut.

    Not possible on Windows (a directory cannot be opened there; NTFS journals its names): a no-op.
    Elsewhere a failure raises ``OSError``, or with ``quiet`` is ignored: the file is whole and in
    place either way, and only its survival of a power cut is less sure.
    """
    if os.name == "nt":  # pragma: no cover - Windows cannot open a directory
        return
    with contextlib.suppress(OSError) if quiet else contextlib.nullcontext():
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
