"""A total deadline for one request. httpx's timeout is per read: a server trickling a byte every 5 s never trips
a 30 s timeout, and a run waits on it forever. Here the request runs in a short-lived thread that reads the body
chunk by chunk and stops past the deadline, while the caller waits at most the deadline whatever the socket does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx


class DeadlineExceededError(httpx.TimeoutException):
    """The whole request (connect, headers, every byte of the body) took longer than its deadline."""


@dataclass
class _Outcome:
    response: httpx.Response | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def send_within(client: httpx.Client, request: httpx.Request, deadline_s: float) -> httpx.Response:
    """`client.send(request)` with its body read in full, or `DeadlineExceededError` after `deadline_s` seconds."""
    outcome = _Outcome()
    start = time.monotonic()
    worker = threading.Thread(
        target=_fetch, args=(client, request, start, deadline_s, outcome), name="source-request", daemon=True
    )
    worker.start()
    if not outcome.done.wait(deadline_s):
        raise _exceeded(request, deadline_s)
    if isinstance(outcome.error, httpx.TimeoutException) and not isinstance(outcome.error, DeadlineExceededError):
        raise _exceeded(request, deadline_s) from outcome.error  # httpx's own timeout is the deadline too
    if outcome.error is not None:
        raise outcome.error
    assert outcome.response is not None  # set together with done when there is no error
    return outcome.response


def _fetch(client: httpx.Client, request: httpx.Request, start: float, deadline_s: float, outcome: _Outcome) -> None:
    """Runs in the worker thread; a caller that gave up already ignores what it sets."""
    try:
        streamed = client.send(request, stream=True)
        if streamed.is_stream_consumed:  # an answer built in memory (a test transport): nothing left to wait for
            outcome.response = streamed
            return
        try:
            raw = bytearray()
            for chunk in streamed.iter_raw():
                raw += chunk
                if time.monotonic() - start > deadline_s:
                    raise _exceeded(request, deadline_s)
        finally:
            streamed.close()
        response = httpx.Response(
            streamed.status_code,
            headers=streamed.headers,
            content=bytes(raw),
            request=streamed.request,
            extensions=streamed.extensions,
        )
        response.read()  # decodes gzip etc. from the raw bytes, as httpx would have
        outcome.response = response
    except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, which raises it
        outcome.error = exc
    finally:
        outcome.done.set()


def _exceeded(request: httpx.Request, deadline_s: float) -> DeadlineExceededError:
    return DeadlineExceededError(
        f"no complete answer within the total deadline of {deadline_s:g}s (BACKLOG_SOURCE_TIMEOUT_S)", request=request
    )


__all__ = ["DeadlineExceededError", "send_within"]
