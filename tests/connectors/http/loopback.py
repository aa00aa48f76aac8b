"""A hostile HTTP source on 127.0.0.1: a small threaded `http.server` that hangs, trickles, answers HTML,
truncated JSON or 429 without Retry-After (or a healthy empty JSON array). Real sockets, so the client's deadlines
are tested against a real slow peer, not a mock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

MODES = ("hang", "trickle", "html", "truncated", "429", "ok")


@dataclass
class Hostile:
    """What the server does (`mode`), what it saw (`paths`), and the event that frees a hanging handler."""

    mode: str = "ok"
    trickle_every_s: float = 0.2
    paths: list[str] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    url: str = ""


class _Handler(BaseHTTPRequestHandler):
    state: ClassVar[Hostile]

    def log_message(self, format: str, *args: object) -> None:
        return  # quiet: the test names what matters

    def do_GET(self) -> None:
        state = self.state
        state.paths.append(self.path)
        behave = getattr(self, f"_{state.mode}")
        try:
            behave(state)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up, as it should

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _hang(self, state: Hostile) -> None:
        state.stopped.wait(30)  # accepts, never answers

    def _trickle(self, state: Hostile) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"[")
        self.wfile.flush()
        while not state.stopped.wait(state.trickle_every_s):  # one byte at a time, never in time
            self.wfile.write(b" ")
            self.wfile.flush()

    def _html(self, _state: Hostile) -> None:
        self._answer(200, b"<!doctype html><html><body>Sign in to continue</body></html>", "text/html")

    def _truncated(self, _state: Hostile) -> None:
        self._answer(200, b'[{"number": 1, "title": "Export to CSV", "body": "we need')

    def _429(self, _state: Hostile) -> None:
        self._answer(429, b'{"message": "slow down"}')

    def _ok(self, _state: Hostile) -> None:
        self._answer(200, b"[]")


@contextmanager
def hostile_server(mode: str = "ok", *, trickle_every_s: float = 0.2) -> Iterator[Hostile]:
    """Serve `mode` on an ephemeral port for the block; `state.url` is its base URL."""
    state = Hostile(mode=mode, trickle_every_s=trickle_every_s)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="hostile-source", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stopped.set()
        server.shutdown()
        server.server_close()
