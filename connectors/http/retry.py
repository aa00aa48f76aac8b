"""The one retry policy: exponential back-off with jitter, a capped server wait, a total deadline, recover().

Usable on its own (the Notion session runs its calls through it): `policy.call(fn, classify)` runs `fn`,
asks `classify` (a `DecisionTable`, or any function of the outcome) what to do, and retries RETRY and
RATE_LIMITED outcomes. A write that may have landed (a timeout, a 5xx) is not blindly sent again: before the
next attempt `recover()` may look for its effect and return it, so a create is never made twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import tenacity

from connectors.http.decide import Decision, ResponseAction

T = TypeVar("T")


class RetryExhaustedError(Exception):
    """Every attempt (or the deadline) was used up; `decision` is the last one, `outcome` what caused it."""

    def __init__(self, decision: Decision, attempts: int, outcome: object) -> None:
        super().__init__(f"still failing after {attempts} attempts ({decision.reason})")
        self.decision = decision
        self.attempts = attempts
        self.outcome = outcome


class _AgainError(Exception):
    """Internal: the attempt's outcome is worth another try."""

    def __init__(self, decision: Decision, outcome: object) -> None:
        super().__init__(decision.reason)
        self.decision = decision
        self.outcome = outcome


@dataclass
class RetryPolicy:
    """How often and how long to insist. `max_wait_s` caps a server-requested wait (Retry-After);
    `backoff_budget_s` caps the sum of the waits the policy chose itself (a 429 without Retry-After backs off
    0.5, 1, 2, 4 ... s, never more than this in total, rather than a fixed minute per retry)."""

    max_retries: int = 5
    base_s: float = 0.5
    cap_s: float = 30.0
    max_wait_s: float = 300.0
    deadline_s: float | None = None
    backoff_budget_s: float | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random

    def backoff(self, attempt: int) -> float:
        """0.5, 1, 2, 4 ... seconds (capped), each with jitter in its upper half."""
        base = min(self.base_s * 2.0 ** (attempt - 1), self.cap_s)
        return base / 2 + self.jitter() * base / 2

    def wait_for(self, decision: Decision, attempt: int, spent_s: float = 0.0) -> float:
        """The wait before attempt `attempt + 1`; `spent_s` is what this call's own back-offs slept already."""
        if decision.wait_s is not None:
            return min(decision.wait_s, self.max_wait_s)
        wait = self.backoff(attempt)
        if self.backoff_budget_s is not None:
            wait = max(0.0, min(wait, self.backoff_budget_s - spent_s))
        return wait

    def budget_spent(self, decision: Decision, spent_s: float) -> bool:
        """True when a self-chosen back-off has no budget left (a server-given wait is always honoured)."""
        budget = self.backoff_budget_s
        return decision.wait_s is None and budget is not None and spent_s >= budget

    def call(
        self,
        fn: Callable[[], T],
        classify: Callable[[T | BaseException], Decision],
        *,
        recover: Callable[[], T | None] | None = None,
        on_retry: Callable[[Decision, object, float], None] | None = None,
    ) -> T:
        """`fn()` until `classify` says it is done; its exception is re-raised when the decision is not a retry.

        Raises `RetryExhaustedError` when the attempts or the deadline run out.
        """
        run = _Run(self, fn, classify, recover, on_retry)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_AgainError),
            stop=run.stop,
            wait=run.wait,
            sleep=self.sleep,
            before_sleep=run.before_sleep,
            reraise=True,
        )
        try:
            return retrying(run.attempt)
        except _AgainError as again:
            raise RetryExhaustedError(again.decision, run.attempts, again.outcome) from None


@dataclass
class _Run(Generic[T]):
    """One `call`: the tenacity hooks, and whether the last failed attempt may have reached the server."""

    policy: RetryPolicy
    fn: Callable[[], T]
    classify: Callable[[T | BaseException], Decision]
    recover: Callable[[], T | None] | None
    on_retry: Callable[[Decision, object, float], None] | None
    attempts: int = 0
    may_have_landed: bool = False
    backed_off_s: float = 0.0  # the sum of the waits the policy chose itself (not Retry-After)
    start: float = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.policy.clock()

    def attempt(self) -> T:
        self.attempts += 1
        if self.may_have_landed and self.recover is not None:
            found = self.recover()  # a write that timed out may have happened: look before sending it again
            if found is not None:
                return found
        try:
            value = self.fn()
        except Exception as exc:
            decision = self.classify(exc)
            if not decision.retryable:
                raise
            self.may_have_landed = True
            raise _AgainError(decision, exc) from exc
        decision = self.classify(value)
        if decision.retryable:
            self.may_have_landed = decision.action is ResponseAction.RETRY  # a 429 was refused, not applied
            raise _AgainError(decision, value)
        return value

    def stop(self, state: tenacity.RetryCallState) -> bool:
        deadline = self.policy.deadline_s
        out_of_time = deadline is not None and self.policy.clock() - self.start >= deadline
        again = _again_of(state)
        no_budget = again is not None and self.policy.budget_spent(again.decision, self.backed_off_s)
        return state.attempt_number > self.policy.max_retries or out_of_time or no_budget

    def wait(self, state: tenacity.RetryCallState) -> float:
        again = _again_of(state)
        if again is None:
            return self.policy.backoff(1)
        wait = self.policy.wait_for(again.decision, state.attempt_number, self.backed_off_s)
        if again.decision.wait_s is None:
            self.backed_off_s += wait
        return wait

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        again = _again_of(state)
        if again is not None and self.on_retry is not None:
            self.on_retry(again.decision, again.outcome, state.next_action.sleep if state.next_action else 0.0)


def _again_of(state: tenacity.RetryCallState) -> _AgainError | None:
    exc = state.outcome.exception() if state.outcome else None
    return exc if isinstance(exc, _AgainError) else None


__all__ = ["RetryExhaustedError", "RetryPolicy"]
