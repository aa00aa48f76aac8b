"""Rate limiters: a token bucket the client paces itself with, and a window budget read from the source's headers.

The bucket is shared by every thread that holds it; a 429 empties it (`pause`) so every thread waits, not only
the one that was told. `FileRateLimiter` is the same bucket kept in a tiny file under an exclusive `flock`, so
every process on the host that names the same file shares one budget (a cron `run` next to `serve` no longer
sends twice the rate). The window budget is for sources that announce their budget (Discord's
`x-ratelimit-remaining: 0` + `x-ratelimit-reset-after`): wait out the window before the next call instead of
collecting a 429.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class Bucket:
    """The state of one token bucket: tokens now, when they were counted, and the end of a slow-down.

    Tokens may go negative: each caller takes its token at once and sleeps off the debt outside any lock,
    which keeps callers in arrival order (and is what `pause` uses to make everyone wait)."""

    tokens: float
    last: float
    slow_until: float = 0.0

    def take(self, now: float, rate: float, burst: int) -> float:
        """Take one token at `now`; returns the seconds the caller must wait before sending."""
        cap = max(1, burst // 2) if now < self.slow_until else burst
        self.tokens = min(cap, self.tokens + max(0.0, now - self.last) * rate)
        self.last = max(self.last, now)
        wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) / rate
        self.tokens -= 1
        return wait

    def pause(self, now: float, seconds: float, rate: float, slow_for: float) -> None:
        """Nobody may send for `seconds`; then the burst is halved for `slow_for` seconds (the steady rate stays:
        it is already under the budget, and a server's window resets)."""
        self.tokens = min(self.tokens, 1 - seconds * rate)
        self.last = max(self.last, now)
        if slow_for > 0:
            self.slow_until = max(self.slow_until, now + seconds + slow_for)


class RateLimiter:
    """A token bucket: at most `rate` acquisitions per second, `burst` at once, held in this process."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._bucket = Bucket(float(self.burst), clock())
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a request may be sent; returns the seconds waited."""
        with self._lock:
            wait = self._bucket.take(self._clock(), self.rate, self.burst)
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float, *, slow_for: float = 0.0) -> None:
        """A server said "wait": empty the bucket so every thread waits, not only the one that was told;
        `slow_for` > 0 also halves the burst for that long once the pause is over."""
        with self._lock:
            self._bucket.pause(self._clock(), seconds, self.rate, slow_for)


class FileRateLimiter(RateLimiter):
    """The token bucket kept in `path` (JSON: tokens, last refill, slow-down end) under `fcntl.flock`, so every
    process (and every limiter object) naming the same file shares one budget. The clock must be one every
    process agrees on (wall time by default). If the file cannot be used the limiter logs once and carries on
    with its in-process bucket: pacing stays, only the sharing is lost."""

    def __init__(
        self,
        path: Path,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rate, burst, clock=clock, sleep=sleep)
        self.path = path
        self.shared = True

    def acquire(self) -> float:
        """Take one token from the shared file; returns the seconds waited."""
        wait = self._with_bucket(lambda bucket, now: bucket.take(now, self.rate, self.burst))
        if wait is None:
            return super().acquire()
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float, *, slow_for: float = 0.0) -> None:
        """Pause every process sharing the file (see `RateLimiter.pause`)."""

        def change(bucket: Bucket, now: float) -> float:
            bucket.pause(now, seconds, self.rate, slow_for)
            return 0.0

        if self._with_bucket(change) is None:
            super().pause(seconds, slow_for=slow_for)

    def _with_bucket(self, change: Callable[[Bucket, float], float]) -> float | None:
        """Read, change and write the bucket under the file lock; None (after one warning) if the file is unusable."""
        if not self.shared:
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                now = self._clock()
                bucket = self._read(fd, now)
                result = change(bucket, now)
                os.lseek(fd, 0, os.SEEK_SET)
                os.ftruncate(fd, 0)
                os.write(fd, json.dumps(asdict(bucket)).encode())
                return result
            finally:
                os.close(fd)  # closing releases the lock
        except OSError as exc:
            self.shared = False
            log.warning(
                "rate limit file %s cannot be used (%s); pacing this process alone. Fix: make the directory "
                "writable (BACKLOG_CACHE_DIR)",
                self.path,
                exc.strerror or exc,
            )
            return None

    def _read(self, fd: int, now: float) -> Bucket:
        """The bucket in the file; a full bucket if the file is new, unreadable or from the future (clock reset)."""
        raw = os.read(fd, 4096)
        try:
            data = json.loads(raw) if raw else {}
            bucket = Bucket(float(data["tokens"]), float(data["last"]), float(data.get("slow_until", 0.0)))
        except (ValueError, KeyError, TypeError):
            return Bucket(float(self.burst), now)
        if bucket.last > now + 1:
            return Bucket(float(self.burst), now)
        return bucket


def float_header(value: str | None) -> float | None:
    """A non-negative float header value, or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class WindowBudget:
    """The source's own budget headers: when `remaining` says 0, the seconds until `reset_after`."""

    remaining: str = "x-ratelimit-remaining"
    reset_after: str = "x-ratelimit-reset-after"

    def wait_s(self, headers: Mapping[str, str]) -> float | None:
        if headers.get(self.remaining) != "0":
            return None
        return float_header(headers.get(self.reset_after)) or None


__all__ = ["Bucket", "FileRateLimiter", "RateLimiter", "WindowBudget", "float_header"]
