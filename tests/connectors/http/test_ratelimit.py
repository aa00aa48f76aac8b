"""The token bucket, in-process and shared through a file: bursts, the window bound, pauses, slow-down, fallback."""

from __future__ import annotations

import logging
import multiprocessing
import time
from pathlib import Path

import pytest

from connectors.http.ratelimit import Bucket, FileRateLimiter, RateLimiter
from tests.connectors.fake_time import FakeTime


class FakeClock(FakeTime):
    """The shared fake clock; `sends` records when each acquisition was allowed to go."""

    def __init__(self) -> None:
        super().__init__()
        self.sends: list[float] = []

    def __call__(self) -> float:
        return self.now


def most_in_window(times: list[float], window: float) -> int:
    """The largest number of sends inside any `window` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def file_limiter(path: Path, clock: FakeClock, rate: float = 2.0, burst: int = 4) -> FileRateLimiter:
    return FileRateLimiter(path, rate, burst, clock=clock, sleep=clock.sleep)


def send(limiter: RateLimiter, clock: FakeClock) -> None:
    limiter.acquire()
    clock.sends.append(clock.now)


def test_bucket_bursts_then_paces() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, burst=4, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(6)]
    assert waits[:4] == [0.0, 0.0, 0.0, 0.0]  # the burst goes at once
    assert waits[4] == pytest.approx(0.5)
    assert waits[5] == pytest.approx(0.5)


def interleave(a: RateLimiter, b: RateLimiter, clock: FakeClock, rounds: int = 30) -> float:
    """a, b, a, b ... as two processes would; returns the fake seconds it took."""
    for _ in range(rounds):
        send(a, clock)
        send(b, clock)
    return clock.now - 1_000.0


def test_two_limiters_on_one_file_share_one_budget(tmp_path: Path) -> None:
    clock = FakeClock()
    took = interleave(
        file_limiter(tmp_path / "bucket.json", clock), file_limiter(tmp_path / "bucket.json", clock), clock
    )
    # 60 sends at 2/s with a burst of 4: at least 28 s; any 10 s window holds at most 4 + 2 * 10 (+1 boundary).
    assert took >= (60 - 4) / 2.0 - 1e-6
    assert most_in_window(clock.sends, 10.0) <= 4 + 20 + 1


def test_limiters_on_separate_files_do_not_share(tmp_path: Path) -> None:
    """The control for the test above: two buckets would together send twice the rate."""
    clock = FakeClock()
    took = interleave(file_limiter(tmp_path / "a.json", clock), file_limiter(tmp_path / "b.json", clock), clock)
    assert took < (60 - 4) / 2.0 * 0.6


def test_pause_through_one_limiter_makes_the_other_wait(tmp_path: Path) -> None:
    clock = FakeClock()
    a, b = file_limiter(tmp_path / "bucket.json", clock), file_limiter(tmp_path / "bucket.json", clock)
    a.pause(5.0)
    assert b.acquire() == pytest.approx(5.0)


def test_pause_with_slow_down_halves_the_burst_for_a_while() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, burst=4, clock=clock, sleep=clock.sleep)
    limiter.pause(1.0, slow_for=60.0)
    assert limiter.acquire() == pytest.approx(1.0)  # the pause
    clock.now += 30.0  # idle: only the halved burst (2) refills, not 4
    waits = [limiter.acquire() for _ in range(3)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(0.5)  # the steady rate is unchanged
    clock.now += 100.0  # the slow-down is over: the full burst again
    assert [limiter.acquire() for _ in range(4)] == [0.0] * 4


def test_an_unusable_file_falls_back_to_the_process_bucket_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    clock = FakeClock()
    limiter = file_limiter(blocker / "bucket.json", clock)
    with caplog.at_level(logging.WARNING):
        waits = [limiter.acquire() for _ in range(6)]
        limiter.pause(1.0)
    assert waits[4] == pytest.approx(0.5)  # still paced
    assert limiter.acquire() > 0  # and paused
    warnings = [r for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(warnings) == 1
    assert "BACKLOG_CACHE_DIR" in warnings[0].getMessage()


def test_a_corrupt_or_future_file_starts_a_full_bucket(tmp_path: Path) -> None:
    path = tmp_path / "bucket.json"
    clock = FakeClock()
    path.write_text("{not json")
    assert file_limiter(path, clock).acquire() == 0.0
    path.write_text('{"tokens": -100, "last": 99999999}')  # written by a clock far ahead (reset since)
    assert file_limiter(path, clock).acquire() == 0.0


def test_bucket_tokens_never_exceed_the_burst() -> None:
    bucket = Bucket(tokens=0.0, last=0.0)
    bucket.take(10_000.0, rate=3.0, burst=5)
    assert bucket.tokens == 4.0


def _acquire_many(path: str, count: int, out: str) -> None:
    limiter = FileRateLimiter(Path(path), rate=40.0, burst=3)
    stamps = []
    for _ in range(count):
        limiter.acquire()
        stamps.append(time.time())
    Path(out).write_text("\n".join(map(repr, stamps)))


def test_two_processes_never_exceed_the_budget_together(tmp_path: Path) -> None:
    bucket = str(tmp_path / "bucket.json")
    outs = [str(tmp_path / f"out{i}.txt") for i in range(2)]
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_acquire_many, args=(bucket, 20, out)) for out in outs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    stamps = [float(line) for out in outs for line in Path(out).read_text().splitlines()]
    assert len(stamps) == 40
    # 40 sends at 40/s, burst 3: no 0.25 s window holds more than 3 + 10 (+1 for timestamp jitter).
    assert most_in_window(stamps, 0.25) <= 3 + 10 + 1
    assert max(stamps) - min(stamps) >= (40 - 3) / 40.0 - 0.05
