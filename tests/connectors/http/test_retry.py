"""The one retry policy, used on its own (as the Notion session will): back-off, capped waits, deadline, recover."""

from __future__ import annotations

import pytest

from connectors.http import Decision, ResponseAction, RetryExhaustedError, RetryPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def policy(clock: Clock, **kwargs: object) -> RetryPolicy:
    return RetryPolicy(sleep=clock.sleep, clock=clock, jitter=lambda: 0.0, **kwargs)  # type: ignore[arg-type]


def classify(outcome: object) -> Decision:
    """Plain strings stand in for responses: "503", "429:<wait>", anything else is success."""
    if isinstance(outcome, TimeoutError):
        return Decision(ResponseAction.RETRY, reason="timeout")
    if isinstance(outcome, BaseException):
        return Decision(ResponseAction.FAIL)
    text = str(outcome)
    if text == "503":
        return Decision(ResponseAction.RETRY, reason="server error")
    if text.startswith("429:"):
        return Decision(ResponseAction.RATE_LIMITED, wait_s=float(text[4:]), reason="rate limited")
    return Decision(ResponseAction.SUCCESS)


def answers(*outcomes: object) -> list[object]:
    return list(outcomes)


def run(queue: list[object]) -> object:
    outcome = queue.pop(0)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def test_backs_off_then_succeeds_and_caps_a_server_wait() -> None:
    clock = Clock()
    queue = answers("503", "503", "429:1000", "ok")
    assert policy(clock, max_wait_s=300.0).call(lambda: run(queue), classify) == "ok"
    assert clock.sleeps == [0.25, 0.5, 300.0]  # 0.5 s, 1 s bases (jitter 0 = lower half), Retry-After capped


def test_gives_up_after_max_retries() -> None:
    clock = Clock()
    with pytest.raises(RetryExhaustedError, match="3 attempts") as caught:
        policy(clock, max_retries=2).call(lambda: "503", classify)
    assert caught.value.attempts == 3
    assert caught.value.decision.action is ResponseAction.RETRY


def test_a_total_deadline_stops_before_the_attempts_run_out() -> None:
    clock = Clock()
    with pytest.raises(RetryExhaustedError):
        policy(clock, max_retries=50, deadline_s=10.0).call(lambda: "429:4", classify)
    assert clock.now <= 12.0  # three waits of 4 s at most, not fifty


def test_a_failure_is_raised_at_once() -> None:
    calls: list[int] = []

    def broken() -> str:
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        policy(Clock()).call(broken, classify)
    assert calls == [1]


def test_recover_finds_a_write_that_landed_instead_of_sending_it_again() -> None:
    sent: list[str] = []

    def create() -> str:
        sent.append("create")
        raise TimeoutError("the answer was lost")

    found = policy(Clock()).call(create, classify, recover=lambda: "page-1")

    assert found == "page-1"
    assert sent == ["create"]  # the retry looked first, and did not create twice


def test_recover_is_not_asked_after_a_429_which_was_refused_not_applied() -> None:
    queue = answers("429:1", "ok")
    looked: list[int] = []

    def recover() -> str | None:
        looked.append(1)
        return None

    assert policy(Clock()).call(lambda: run(queue), classify, recover=recover) == "ok"
    assert looked == []
