"""One `backlog run` at a time per host: an exclusive, non-blocking `flock` on BACKLOG_LOCK_PATH.

The kernel releases the lock when the process dies (even on SIGKILL), so a crashed run never blocks the next one.
The file holds the holder's pid and start time, only to make the "already running" message useful.
"""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO


class RunLockHeldError(Exception):
    """Another run holds the lock."""


class RunLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunLockHeldError(
                f"another `backlog run` is in progress ({holder}; lock {self.path}); this one exits without work. "
                "If no run is active, the lock is free already: the kernel releases it when a run ends."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
