"""One writing command at a time per host: an exclusive `flock` on BACKLOG_LOCK_PATH.

`sync`, `score`, `report`, `run`, `init`, `demo` and `serve`'s background work (POST /sync, webhook rescores)
all take the same lock, so two of them never write the same rows from one host at once. A second command waits
up to BACKLOG_LOCK_WAIT_S (default: not at all), then exits 1 naming the lock file and its holder. The kernel
releases the lock when the process dies (even on SIGKILL), so a crashed command never blocks the next one. The
file holds the holder's pid, command and start time while it is held (it is emptied on release), only to make
that message useful.

The lock is per host (a pod's `emptyDir`): two hosts can still race, which the sync's healing covers (see
deploy/README.md).
"""

from __future__ import annotations

import fcntl
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

POLL_S = 0.05


class RunLockHeldError(Exception):
    """Another command holds the lock."""


class RunLock:
    def __init__(self, path: Path, command: str = "run") -> None:
        self.path = path
        self.command = command
        self._file: IO[str] | None = None

    def acquire(self, wait_s: float = 0.0) -> None:
        """Take the lock, waiting up to `wait_s` seconds for its holder; `RunLockHeldError` when it stays held."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644), "r+", encoding="utf-8")
        give_up = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= give_up:
                    raise self._held(handle, wait_s) from None
                time.sleep(POLL_S)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        holder = f"pid {os.getpid()}, command `backlog {self.command}`, since {since}".encode()
        os.pwrite(handle.fileno(), holder, 0)  # written in place, then cut: a reader never sees an empty file
        os.ftruncate(handle.fileno(), len(holder))
        self._file = handle

    def _held(self, handle: IO[str], wait_s: float) -> RunLockHeldError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        held_by = holder.split("`backlog ", 1)[1].split("`", 1)[0] if "`backlog " in holder else "run"
        waited = f" after waiting {wait_s:g}s (BACKLOG_LOCK_WAIT_S)" if wait_s else ""
        return RunLockHeldError(
            f"another `backlog {held_by}` is in progress ({holder}; lock {self.path}); this `backlog "
            f"{self.command}` exits without work{waited}. If no such command is running, the lock is free "
            "already: the kernel releases it when its holder ends."
        )

    def release(self) -> None:
        if self._file is not None:
            os.ftruncate(self._file.fileno(), 0)  # no stale holder: the file names someone only while held
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
