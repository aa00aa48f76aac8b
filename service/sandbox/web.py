"""The sandbox on the wire: an in-process httpx transport, a WSGI app (API under /v1, HTML under /) and `serve`.

`SandboxTransport` lets `notion_client.Client` talk to the sandbox without a socket, through exactly the code
path it uses against api.notion.com. `serve` runs the same app over real HTTP with the standard library only.
"""

from __future__ import annotations

import socketserver
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx

from service.logging import get_logger
from service.sandbox.core import ACT_AS_HEADER, Sandbox
from service.sandbox.html import render_html

log = get_logger(__name__)

StartResponse = Callable[..., Any]


class SandboxTransport(httpx.BaseTransport):
    """In-process transport for `httpx.Client`: every request is answered by `Sandbox.handle`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        status, headers, data = self.sandbox.handle(
            request.method, request.url.path, request.url.query.decode("ascii"), dict(request.headers), body
        )
        return httpx.Response(status, headers=headers, content=data, request=request)


class ActAsPerson(httpx.BaseTransport):
    """Wraps a transport to the sandbox so that every request acts as the workspace's person (the PM), as an edit
    in Notion's UI would: `last_edited_by` is the person, not the bot. Sandbox-only (Notion ignores the header)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers[ACT_AS_HEADER] = "person"
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def make_wsgi_app(sandbox: Sandbox) -> Callable[..., Any]:
    """WSGI app: `/v1/...` is the Notion API, any other GET is the read-only HTML view (no auth)."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("PATH_INFO", "/")) or "/"
        query = str(environ.get("QUERY_STRING", ""))
        if path.startswith("/v1/") or path == "/v1":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            headers = {
                key[5:].replace("_", "-").lower(): str(value)
                for key, value in environ.items()
                if key.startswith("HTTP_")
            }
            if environ.get("CONTENT_TYPE"):
                headers["content-type"] = str(environ["CONTENT_TYPE"])
            status, out_headers, data = sandbox.handle(method, path, query, headers, body)
            start_response(_status_line(status), [*out_headers.items(), ("Content-Length", str(len(data)))])
            return [data]
        if method not in {"GET", "HEAD"}:
            data = b"The HTML view is read-only.\n"
            start_response(_status_line(405), [("Content-Type", "text/plain; charset=utf-8"), ("Allow", "GET")])
            return [data]
        status, html = render_html(sandbox, path)
        data = html.encode("utf-8")
        start_response(
            _status_line(status),
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))],
        )
        log.debug("sandbox_html", path=path, status=status)
        return [data] if method == "GET" else [b""]

    return app


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """One thread per connection: the sandbox itself serialises on its lock."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to structlog at debug level instead of stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox_http", line=format % args)


def serve(
    sandbox: Sandbox,
    host: str = "127.0.0.1",
    port: int = 8787,
    on_ready: Callable[[WSGIServer], None] | None = None,
) -> None:
    """Serve the API under /v1 and the HTML view under / until interrupted (or `server.shutdown()`).

    `on_ready` gets the bound server (its `server_address` tells the port when `port=0`).
    """
    server = make_server(
        host, port, make_wsgi_app(sandbox), server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    bound_host, bound_port = server.server_address[:2]
    sandbox.public_url = f"http://{bound_host!s}:{bound_port}"
    log.info("sandbox_serving", url=sandbox.public_url, path=str(sandbox.path))
    if on_ready is not None:
        on_ready(server)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
