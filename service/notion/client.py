"""Building the `notion_client.Client`: the real API at NOTION_API_URL, or the local sandbox in process.

Only the base URL, the token and the transport differ: the same `notion_client` code path runs against both.
`notion_client` runs with `retry=False` so its policy never stacks on the session's, and sends
NOTION_API_VERSION as `Notion-Version` (the sandbox answers each version the way api.notion.com does).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from notion_client import Client
from notion_client.client import ClientOptions

from service.logging import register_secrets
from service.settings import Settings

SANDBOX_BASE_URL = "http://sandbox.local"
DEFAULT_SANDBOX_TOKEN = "sandbox"  # noqa: S105 - the documented local default, accepted only by the sandbox


@dataclass(frozen=True)
class Connection:
    """A ready client, and the sandbox's top-level page when the client talks to the sandbox."""

    client: Client
    sandbox_root_page_id: str | None = None


def _sandbox_transport(settings: Settings, transport: httpx.BaseTransport | None) -> tuple[httpx.BaseTransport, str]:
    """The in-process transport to the sandbox file (or `transport`, which wraps it), and the root page id."""
    sandbox_module: Any = importlib.import_module("service.sandbox")  # lazy: only the sandbox needs it
    settings.backlog_sandbox_path.parent.mkdir(parents=True, exist_ok=True)
    token = settings.backlog_sandbox_token.get_secret_value()
    sandbox = sandbox_module.Sandbox(settings.backlog_sandbox_path, token=token)
    return transport or sandbox_module.SandboxTransport(sandbox), str(getattr(sandbox, "root_page_id", "") or "")


def connect(settings: Settings, *, transport: httpx.BaseTransport | None = None) -> Connection:
    """NOTION_TOKEN set: the real API at NOTION_API_URL. Unset: the local sandbox at BACKLOG_SANDBOX_PATH."""
    root_page_id: str | None = None
    if settings.uses_sandbox:
        token = settings.backlog_sandbox_token.get_secret_value()
        transport, root_page_id = _sandbox_transport(settings, transport)
        base_url = SANDBOX_BASE_URL
    else:
        assert settings.notion_token is not None  # uses_sandbox is False
        token = settings.notion_token.get_secret_value()
        base_url = settings.notion_api_url
    if not (settings.uses_sandbox and token == DEFAULT_SANDBOX_TOKEN):
        # The sandbox's well-known default token is no secret (and redacting "sandbox" would mangle paths).
        register_secrets([token])
    notion_logger = logging.getLogger("notion_client")
    options = ClientOptions(
        auth=token,
        base_url=base_url,
        notion_version=settings.notion_api_version,
        timeout_ms=int(settings.notion_timeout_s * 1000),
        retry=False,  # the session owns the one retry policy
        logger=notion_logger,
        log_level=max(notion_logger.getEffectiveLevel(), logging.ERROR),  # we log retries ourselves
    )
    client = Client(options=options, client=httpx.Client(transport=transport))
    return Connection(client, root_page_id or None)


__all__ = ["DEFAULT_SANDBOX_TOKEN", "SANDBOX_BASE_URL", "Connection", "connect"]
