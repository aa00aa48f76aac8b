"""Local Notion sandbox: a Notion-API-compatible app over SQLite, used whenever `NOTION_TOKEN` is unset.

The same `notion_client` code path runs against it (in process via `SandboxTransport`, or over HTTP via
`serve`); only the base URL and the token change.
"""

from __future__ import annotations

from service.sandbox.core import Sandbox
from service.sandbox.web import ActAsPerson, SandboxTransport, make_wsgi_app, serve

__all__ = ["ActAsPerson", "Sandbox", "SandboxTransport", "make_wsgi_app", "serve"]
