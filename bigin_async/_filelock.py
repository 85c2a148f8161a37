"""An exclusive lock on a file, between processes: ``flock`` on POSIX, ``msvcrt.locking`` on Windows.

Taken without waiting (the caller decides whether to wait and how often to try again), so the
wait stays cancellable. Shared by :class:`~bigin_async.auth.FileTokenStore` (refreshes serialised
across processes sharing a token file) and the bulk journal (one run per journal file).
"""

from __future__ import annotations

import errno
import os

__all__ = ["try_lock", "unlock"]

# Windows has no fcntl: the lock file is locked with msvcrt there.
_WINDOWS = os.name == "nt"


def try_lock(fd: int) -> bool:
    """Lock the lock file for this process without waiting; False if another process holds it."""
    try:
        if _WINDOWS:
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        held = (errno.EACCES, errno.EDEADLK) if _WINDOWS else (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES)
        if exc.errno in held:  # another process holds it
            return False
        raise
    return True


def unlock(fd: int) -> None:
    """Release the lock :func:`try_lock` took on ``fd``."""
    if _WINDOWS:
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined,unused-ignore]
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)
