"""A fault-injecting httpx transport around the in-process Notion sandbox.

The sandbox answers like Notion; `FaultyTransport` sits between the client and it and makes requests go wrong
the ways the real API does: 429 with Retry-After, 500/502/503/529 (JSON or an HTML page), timeouts, connection
errors, and "the write happened but the answer was lost" (the sandbox applies the request, the client gets a
5xx or a timeout). Faults come from a script (`fail(...)`: the next matching request gets it) or at random from
a seeded generator, so every run of a test sees the same faults. It also records every request it saw.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from service.sandbox import Sandbox, SandboxTransport
from service.sandbox.core import ACT_AS_HEADER

JSON = dict[str, Any]
API_PREFIX = "/v1/"


@dataclass(frozen=True)
class Fault:
    """One way a request goes wrong. `applied`: the sandbox handles the request first, then the answer is lost."""

    status: int = 0  # the answer's status (0 with `error`: no answer, `error` is raised)
    code: str = "internal_server_error"
    message: str = "Unexpected error occurred."
    headers: tuple[tuple[str, str], ...] = ()
    html: str | None = None  # a non-JSON body (a proxy's error page)
    error: type[httpx.TransportError] | None = None
    applied: bool = False

    def respond(self, request: httpx.Request) -> httpx.Response:
        if self.error is not None:
            raise self.error(f"injected {self.error.__name__}", request=request)
        if self.html is not None:
            return httpx.Response(self.status, text=self.html, headers=dict(self.headers), request=request)
        body = {"object": "error", "status": self.status, "code": self.code, "message": self.message}
        return httpx.Response(self.status, json=body, headers=dict(self.headers), request=request)

    def __str__(self) -> str:
        kind = self.error.__name__ if self.error else str(self.status)
        return f"{kind}{' (applied)' if self.applied else ''}"


def rate_limited(retry_after: float = 1) -> Fault:
    """429 before any work, asking to wait `retry_after` seconds."""
    header = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
    return Fault(429, "rate_limited", "You have been rate limited.", headers=(("Retry-After", header),))


def server_error(status: int = 500, *, applied: bool = False) -> Fault:
    """A 5xx; `applied=True` means Notion did the work before failing (the answer was lost)."""
    codes = {502: "bad_gateway", 503: "service_unavailable", 504: "gateway_timeout"}
    return Fault(status, codes.get(status, "internal_server_error"), "Unexpected error occurred.", applied=applied)


def overloaded() -> Fault:
    """529 with an HTML body, the way an overloaded edge answers."""
    return Fault(529, html="<html>overloaded</html>")


def timeout(*, applied: bool = False) -> Fault:
    """No answer in time; `applied=True`: the request reached Notion and was applied."""
    return Fault(error=httpx.ReadTimeout, applied=applied)


def connection_refused() -> Fault:
    """Nothing reached Notion."""
    return Fault(error=httpx.ConnectError)


def refused(status: int, code: str, message: str) -> Fault:
    """A 4xx answer (validation, not found ...) with Notion's error body."""
    return Fault(status, code, message)


def lost_answer(status: int = 502) -> Fault:
    """The write happened but the client got a `status` instead of the answer."""
    return server_error(status, applied=True)


# What `seed=` draws from: every fault the session must survive (writes that land included).
CHAOS: tuple[Fault, ...] = (
    rate_limited(1),
    server_error(500),
    server_error(503),
    overloaded(),
    timeout(),
    connection_refused(),
    lost_answer(502),
    timeout(applied=True),
)


@dataclass(frozen=True)
class Seen:
    """One request as the transport saw it, and the fault it got (None: the sandbox's own answer)."""

    method: str
    path: str  # without the /v1/ prefix: "pages", "data_sources/<id>/query"
    body: Any
    fault: Fault | None


@dataclass
class _Rule:
    method: str
    pattern: str
    fault: Fault
    times: int


@dataclass
class FaultyTransport(httpx.BaseTransport):
    """Wraps `inner` (a `SandboxTransport`). Scripted faults first, then seeded random ones (`rate` of the
    requests matching `where`, never more than `max_in_a_row` in a row so a bounded retry always gets through)."""

    inner: httpx.BaseTransport
    seed: int | None = None
    rate: float = 0.0
    pool: Sequence[Fault] = CHAOS
    where: Callable[[str, str], bool] = lambda _method, _path: True
    max_in_a_row: int = 2
    page_size: int | None = None  # cap every page_size asked for: the server returns shorter pages
    requests: list[Seen] = field(default_factory=list, init=False)
    _script: list[_Rule] = field(default_factory=list, init=False)
    _random: random.Random = field(init=False)
    _in_a_row: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def fail(self, method: str, pattern: str, fault: Fault, *, times: int = 1) -> None:
        """The next `times` `method` requests whose path (without /v1/) fully matches `pattern` get `fault`."""
        self._script.append(_Rule(method, pattern, fault, times))

    def count(self, method: str, pattern: str) -> int:
        return len(self.bodies(method, pattern))

    def bodies(self, method: str, pattern: str) -> list[Any]:
        return [s.body for s in self.requests if s.method == method and re.fullmatch(pattern, s.path)]

    def faults(self) -> list[tuple[str, str, str]]:
        """(method, path, fault) of every injected fault, in order: equal across runs with the same seed."""
        return [(s.method, s.path, str(s.fault)) for s in self.requests if s.fault is not None]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request = self._capped(request)
        path = request.url.path.removeprefix(API_PREFIX)
        body = json.loads(request.content) if request.content else None
        fault = self._scripted(request.method, path) or self._drawn(request.method, path)
        self.requests.append(Seen(request.method, path, body, fault))
        if fault is None:
            return self.inner.handle_request(request)
        if fault.applied:
            self.inner.handle_request(request).read()
        return fault.respond(request)

    def _scripted(self, method: str, path: str) -> Fault | None:
        for rule in self._script:
            if rule.method == method and re.fullmatch(rule.pattern, path):
                rule.times -= 1
                if rule.times == 0:
                    self._script.remove(rule)
                return rule.fault
        return None

    def _drawn(self, method: str, path: str) -> Fault | None:
        if self.seed is None or not self.where(method, path):
            return None
        if self._in_a_row < self.max_in_a_row and self._random.random() < self.rate:
            self._in_a_row += 1
            return self._random.choice(list(self.pool))
        self._in_a_row = 0
        return None

    def _capped(self, request: httpx.Request) -> httpx.Request:
        if self.page_size is None:
            return request
        if request.method == "GET" and "page_size" in request.url.params:
            params = dict(request.url.params)
            params["page_size"] = str(min(int(params["page_size"]), self.page_size))
            url = request.url.copy_with(query=urlencode(params).encode("ascii"))
            return httpx.Request(request.method, url, headers=request.headers)
        if request.content and b"page_size" in request.content:
            body = json.loads(request.content)
            body["page_size"] = min(int(body["page_size"]), self.page_size)
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            return httpx.Request(request.method, request.url, headers=headers, json=body)
        return request


@dataclass
class Clock:
    """The sandbox's wall clock, set by the test: created_time is whatever `now` says when a page is made."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def tick(self, minutes: int = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


@dataclass
class FaultyNotion:
    """A sandbox, a clock it reads, and a `FaultyTransport` in front of it; `api` seeds it behind the faults."""

    sandbox: Sandbox
    clock: Clock
    transport: FaultyTransport
    token: str

    @classmethod
    def open(cls, path: Path, *, token: str, start: datetime, **faults: Any) -> FaultyNotion:
        clock = Clock(start)
        sandbox = Sandbox(path, token=token, wall_clock=clock)
        return cls(sandbox, clock, FaultyTransport(SandboxTransport(sandbox), **faults), token)

    def api(self, method: str, path: str, body: JSON | None = None, *, as_person: bool = False) -> JSON:
        """One request straight to the sandbox (no faults, not recorded); fails the test on an error answer.
        `as_person`: made as the workspace's person (the PM in Notion's UI), not as the integration."""
        content = json.dumps(body).encode() if body is not None else b""
        headers = {
            "authorization": f"Bearer {self.token}",
            "content-type": "application/json",
            "notion-version": "2025-09-03",
        }
        if as_person:
            headers[ACT_AS_HEADER] = "person"
        status, _, data = self.sandbox.handle(method, API_PREFIX + path, "", headers, content)
        answer: JSON = json.loads(data)
        assert status == 200, f"seeding {method} {path}: {answer}"
        return answer

    def close(self) -> None:
        self.sandbox.close()
