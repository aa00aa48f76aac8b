"""Rate limiters: a token bucket the client paces itself with, and a window budget read from the source's headers.

The bucket is shared by every thread that holds it; a 429 empties it (`pause`) so every thread waits, not only
the one that was told. The window budget is for sources that announce their budget (Discord's
`x-ratelimit-remaining: 0` + `x-ratelimit-reset-after`): wait out the window before the next call instead of
collecting a 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


class RateLimiter:
    """A token bucket: at most `rate` acquisitions per second, `burst` at once."""

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
        self._tokens = float(self.burst)
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a request may be sent; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """A server said "wait": empty the bucket so every thread waits, not only the one that was told."""
        with self._lock:
            self._tokens = min(self._tokens, 1 - seconds * self.rate)


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


__all__ = ["RateLimiter", "WindowBudget", "float_header"]
