"""Settings -> a ready connector: the one place sync and doctor get a source from (same slice, same client)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from connectors.base import Connector
from connectors.registry import connector_class
from service.settings import Settings


def build_connector(
    settings: Settings,
    name: str,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Connector:
    """The connector of source `name` on its config slice. ValueError for an unknown name."""
    cls = connector_class(name)
    return cls(settings.source_config(name), transport, sleep=sleep, clock=clock)


__all__ = ["build_connector"]
