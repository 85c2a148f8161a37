"""``python -m bigin_emulator``: the ``bigin-emulator`` command (``serve`` when no command is given)."""

from __future__ import annotations

import sys

from bigin_emulator.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main(prog="python -m bigin_emulator"))
