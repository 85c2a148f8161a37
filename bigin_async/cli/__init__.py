"""The ``bigin`` command: ``import``, ``export``, ``emulator`` and ``demo`` (see ``bigin --help``).

rich (the ``cli`` extra) is imported only when a command runs, so importing this package costs
nothing and the library itself never depends on it.
"""

from bigin_async.cli.main import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    build_parser,
    main,
    run_command,
)

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "run_command"]
