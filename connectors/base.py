"""What every connector is: a small class with declarative attributes and two ways to read its source.

A connector is built from `Settings`, knows whether it is configured (`missing_settings`), and yields
`Signal`s from its live API (`read_api`) or an export file (`read_export`), newest cursor first-class:
`since` is a closed start (items updated at or after it are yielded; the upsert dedupes at the boundary).
Bad rows never stop a read: they are recorded in `problems` (file and line, or URL, and what is wrong)
and skipped.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import httpx

from connectors.signal import Signal, SourceName
from service.settings import Settings


@dataclass(frozen=True)
class RowProblem:
    """A row that was skipped: `where` is `path:line` for a file or the API URL/id, `message` says why."""

    source: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.where}: {self.message}"


class Connector(ABC):
    """Base class. Subclasses set `source`, implement `api_configured`, `read_api` and `read_export`."""

    source: ClassVar[SourceName]
    # One line telling an operator what to set to enable this source (shown when it is skipped).
    enable_hint: ClassVar[str] = ""

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.transport = transport  # tests pass a fake transport; production uses the network
        self.sleep = sleep  # every wait (Retry-After, rate limits) goes through it: tests inject a fake
        self.clock = clock  # the rate limiters' clock
        self.problems: list[RowProblem] = []
        self.calls = 0  # HTTP calls made to the source
        self.notices: list[str] = []  # one-off operator notices (e.g. Discord MESSAGE_CONTENT intent off)

    @property
    @abstractmethod
    def export_path(self) -> object | None:
        """The configured export file, if any."""

    @abstractmethod
    def api_configured(self) -> bool:
        """True when the live API's credentials and ids are set."""

    def is_configured(self) -> bool:
        return self.api_configured() or self.export_path is not None

    def read(self, since: datetime | None) -> Iterator[Signal]:
        """Yield signals: from the export file when one is set, plus the live API when configured."""
        if self.export_path is not None:
            yield from self.read_export(since)
        if self.api_configured():
            yield from self.read_api(since)

    @abstractmethod
    def read_api(self, since: datetime | None) -> Iterator[Signal]:
        """Yield signals from the live API, updated at or after `since` (all when None)."""

    @abstractmethod
    def read_export(self, since: datetime | None) -> Iterator[Signal]:
        """Yield signals from the export file, updated at or after `since` (all when None)."""

    def skip(self, where: str, message: str) -> None:
        """Record a bad row and go on."""
        self.problems.append(RowProblem(self.source.value, where, message))
