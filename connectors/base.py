"""What every connector is: a small class of declarative attributes on one base that owns THE read loop.

A connector states its source's shape (endpoint, paginator, where the records are, the setting hints, the
dialect of its errors, its rate) and how one record becomes a `Signal` (`to_signal`). The base does the rest,
once for every source (the way meltano/sdk's `RESTStream.request_records` serves tap-github's streams):

    targets (repos, channels, or one) x pages (paginator) x records -> to_signal -> window -> yield
                                         bad record -> `problems` (file:line or URL, and why), the read goes on

It also counts calls, reports a target that is forbidden or missing while the others still read, and answers
`probe()` for `backlog doctor` with the very client the read uses (same URL, same credentials).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import structlog

from connectors.cursor import Window
from connectors.exports import ExportFile
from connectors.http import (
    DEFAULT_TABLE,
    DecisionTable,
    MalformedPayloadError,
    PageRequest,
    Paginator,
    RateLimiter,
    ResponseAction,
    SourceAuthError,
    SourceError,
    SourceHTTP,
    SourceNotFoundError,
    WindowBudget,
    dig,
    paginate,
    parse_json,
)
from connectors.signal import RowProblem, Signal, SourceName
from connectors.text import parse_votes

log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class SourceConfig:
    """The slice of the settings one connector sees: its API base URL, its export file, how long and how often
    to insist on one request (BACKLOG_SOURCE_TIMEOUT_S, BACKLOG_SOURCE_MAX_RETRIES)."""

    api_url: str = ""
    export_path: Path | None = None
    timeout_s: float = 30.0
    max_retries: int = 5


Credentials = tuple[dict[str, str], httpx.Auth | tuple[str, str] | None]


@dataclass(frozen=True)
class Probe:
    """One cheap read `backlog doctor` makes; `judge(body)` -> (ok, detail, fix) when the body matters."""

    name: str
    path: str
    fix: str
    judge: Callable[[Any], tuple[bool, str, str]] | None = None
    params: Mapping[str, str | int] | None = None


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    detail: str
    fix: str = ""


class Connector(ABC):
    """Base class. A subclass sets the class attributes and implements `api_configured`, `credentials`,
    `to_signal` and `export_records`; the loop, the window, problems and call counting are here."""

    source: ClassVar[SourceName]
    config: SourceConfig  # a subclass narrows it to its own slice (`config: GitHubConfig`)
    enable_hint: ClassVar[str] = ""  # one line telling an operator what to set (shown when skipped)
    base_url_setting: ClassVar[str] = ""
    export_setting: ClassVar[str] = ""
    setting_hints: ClassVar[Mapping[int, str]] = {}
    decide: ClassVar[DecisionTable] = DEFAULT_TABLE
    requests_per_second: ClassVar[float | None] = None
    budget: ClassVar[WindowBudget | None] = None
    endpoint: ClassVar[str] = ""  # formatted with `target=`
    method: ClassVar[str] = "GET"
    paginator: ClassVar[Paginator | None] = None
    records_path: ClassVar[tuple[str, ...]] = ()  # () = the body is the array of records
    records_expected: ClassVar[str] = ""  # what the error says was expected, e.g. "a JSON array of issues"
    cursor_field: ClassVar[str] = "updated_at"  # the Signal time the window applies to
    target_label: ClassVar[str] = ""  # prefixes a failed target in the error, e.g. "channel {target}: "

    def __init__(
        self,
        config: SourceConfig,
        transport: httpx.BaseTransport | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.transport = transport  # tests pass a fake transport; production uses the network
        self.sleep = sleep  # every wait (Retry-After, rate limits) goes through it: tests inject a fake
        self.clock = clock  # the rate limiters' clock
        self.problems: list[RowProblem] = []
        self.calls = 0  # HTTP calls made to the source
        self.notices: list[str] = []  # one-off operator notices (e.g. Discord MESSAGE_CONTENT intent off)

    # --- configuration ----------------------------------------------------------------------------------------

    @property
    def export_path(self) -> Path | None:
        return self.config.export_path

    @abstractmethod
    def api_configured(self) -> bool:
        """True when the live API's credentials and ids are set."""

    @abstractmethod
    def credentials(self) -> Credentials:
        """(headers, auth) of every request."""

    def is_configured(self) -> bool:
        return self.api_configured() or self.export_path is not None

    def http(self, *, max_retries: int | None = None) -> SourceHTTP:
        headers, auth = self.credentials()
        rate = self.requests_per_second
        return SourceHTTP(
            source=self.source.value,
            base_url=self.config.api_url,
            base_url_setting=self.base_url_setting,
            headers=headers,
            auth=auth,
            setting_hint=self.setting_hints,
            decide=self.decide,
            max_retries=self.config.max_retries if max_retries is None else max_retries,
            timeout_s=self.config.timeout_s,
            rate_limiter=RateLimiter(rate, clock=self.clock, sleep=self.sleep) if rate else None,
            budget=self.budget,
            transport=self.transport,
            sleep=self.sleep,
            clock=self.clock,
        )

    # --- THE read loop ----------------------------------------------------------------------------------------

    def read(self, since: datetime | None) -> Iterator[Signal]:
        """Yield signals: from the export file when one is set, plus the live API when configured."""
        if self.export_path is not None:
            yield from self.read_export(since)
        if self.api_configured():
            yield from self.read_api(since)

    def read_api(self, since: datetime | None) -> Iterator[Signal]:
        """Every target in turn; one that is forbidden or missing is reported at the end, the others still read."""
        window = Window.since(since)
        http = self.http()
        failures: list[tuple[str, SourceError]] = []
        try:
            for target in self.targets():
                try:
                    yield from self.read_target(http, target, window)
                except (SourceAuthError, SourceNotFoundError) as exc:
                    if exc.status == 401:
                        raise  # a bad token fails every target: no point asking again
                    log.warning("source.target_failed", source=self.source.value, target=target, error=str(exc))
                    failures.append((target, exc))
        finally:
            self.calls += http.calls
            http.close()
            self.finish()
        if failures:
            first = failures[0][1]
            detail = "; ".join(self.target_label.format(target=t) + exc.detail for t, exc in failures)
            raise type(first)(self.source.value, detail, status=first.status)

    def targets(self) -> Sequence[str]:
        """What to read (repos, channels); one unnamed target by default."""
        return ("",)

    def first_request(self, target: str, window: Window) -> PageRequest:
        return PageRequest(url=self.endpoint.format(target=target), method=self.method, params=self.params(window))

    def params(self, window: Window) -> dict[str, str | int]:
        """The first page's query: where the window goes into the request."""
        return {}

    def read_target(self, http: SourceHTTP, target: str, window: Window) -> Iterator[Signal]:
        if self.paginator is None:
            raise NotImplementedError(f"{type(self).__name__} sets no paginator and reads no targets")
        send = self.sender(http)
        pages = paginate(send, self.paginator, self.first_request(target, window), source=self.source.value)
        for page, (response, body) in enumerate(pages, start=1):
            records = self.page_records(http, response, body)
            for index, record in enumerate(records):
                yield from self.admit(self.to_signal(record, self.where(target, page, index, record)), window)
            self.page_done(target, page, response)

    def sender(self, http: SourceHTTP) -> Callable[[PageRequest], tuple[httpx.Response, Any]]:
        """Send one page's request: the JSON body, or None when the table says NOT_MODIFIED / IGNORE."""

        def send(request: PageRequest) -> tuple[httpx.Response, Any]:
            response = http.request(request.method, request.url, **request.kwargs())
            if http.action(response) in (ResponseAction.NOT_MODIFIED, ResponseAction.IGNORE):
                return response, None
            return response, parse_json(self.source.value, response)

        return send

    def page_records(self, http: SourceHTTP, response: httpx.Response, body: Any) -> list[Any]:
        """The page's records (at `records_path`); a body without them is a `MalformedPayloadError`."""
        if body is None:
            return []
        records = dig(body, self.records_path) if self.records_path else body
        if not isinstance(records, list):
            where = f"{response.request.method} {response.request.url.copy_with(query=None)}"
            wanted = self.records_expected or (
                f"a `{'.'.join(self.records_path)}` array" if self.records_path else "a JSON array"
            )
            raise MalformedPayloadError(self.source.value, f"{where} returned {describe(body)}, expected {wanted}")
        return records

    def page_done(self, target: str, page: int, response: httpx.Response) -> None:
        """Called after each page's records were consumed (GitHub keeps its ETag here)."""
        return

    def finish(self) -> None:
        """Called once after the API read, even when it failed (Discord reports its intent notice)."""
        return

    def where(self, target: str, page: int, index: int, record: Any) -> str:
        return f"{self.config.api_url}/{self.endpoint.format(target=target).lstrip('/')} item {index}"

    def admit(self, signal: Signal | None, window: Window) -> Iterator[Signal]:
        """The window, applied once: yield the signal when it is at or after the start."""
        if signal is not None and window.admits(getattr(signal, self.cursor_field)):
            yield signal

    @abstractmethod
    def to_signal(self, record: Any, where: str) -> Signal | None:
        """One API record as a signal; None (after `skip` when it is malformed) when it does not qualify."""

    # --- export file ------------------------------------------------------------------------------------------

    def read_export(self, since: datetime | None) -> Iterator[Signal]:
        """Yield signals from the export file, updated at or after `since` (all when None).

        An id seen twice in the file is one row (the latest `updated_at`, the later row on a tie) and one
        problem naming both places; a file without rows is one notice.
        """
        path = self.export_path
        if path is None:
            return
        window = Window.since(since)
        export = ExportFile(self.source.value, path, self.export_setting, skip=self.skip, notice=self.notice)
        kept: dict[str, tuple[str, Signal]] = {}
        for where, record in self.export_records(export):
            signal = self.export_signal(record, where)
            if signal is not None:
                self._keep_latest(kept, where, signal)
        if not kept and not self.problems:
            self.notice(f"{path}: no rows in the export file (check the export's filters and date range)")
        for _where, signal in kept.values():
            yield from self.admit(signal, window)

    def _keep_latest(self, kept: dict[str, tuple[str, Signal]], where: str, signal: Signal) -> None:
        earlier = kept.get(signal.external_id)
        if earlier is None:
            kept[signal.external_id] = (where, signal)
            return
        first_where, first = earlier
        winner = (where, signal) if signal.updated_at >= first.updated_at else earlier
        kept[signal.external_id] = winner
        self.skip(
            where,
            f"duplicate id {signal.external_id} (also at {first_where}); kept the row at {winner[0]}"
            " (latest updated time, later row on a tie): remove the other row",
        )

    def votes(self, raw: object, where: str) -> int | None:
        """A vote count, or None with a notice when it is negative, huge or not a count (the row still lands)."""
        votes, problem = parse_votes(raw)
        if problem:
            self.notice(f"{where}: {problem}")
        return votes

    def notice(self, message: str) -> None:
        """A one-off operator notice, recorded once however often it is raised."""
        if message not in self.notices:
            self.notices.append(message)

    @abstractmethod
    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        """(where, record) of the export file, read with `exports.ExportFile`."""

    def export_signal(self, record: Any, where: str) -> Signal | None:
        """One export record as a signal; the API's `to_signal` unless the export has its own shape."""
        return self.to_signal(record, where)

    def skip(self, where: str, message: str) -> None:
        """Record a bad row and go on."""
        self.problems.append(RowProblem(self.source.value, where, message))

    # --- doctor -----------------------------------------------------------------------------------------------

    def probes(self) -> list[Probe]:
        """The cheap reads that prove the credentials and ids work."""
        return []

    def incomplete(self) -> ProbeResult | None:
        """Some API settings are set but not all: the failing check that says what is missing."""
        return None

    def probe_configured(self) -> bool:
        return self.api_configured()

    def probe(self) -> list[ProbeResult]:
        """What `backlog doctor` shows for this source: the export file, then each probe (one try each)."""
        results = self._export_probe()
        missing = self.incomplete()
        if missing is not None:
            return [*results, missing]
        if not self.probe_configured():
            return results
        http = self.http(max_retries=1)
        try:
            results.extend(_run_probe(http, probe) for probe in self.probes())
        finally:
            self.calls += http.calls
            http.close()
        return results

    def _export_probe(self) -> list[ProbeResult]:
        path = self.export_path
        if path is None:
            return []
        ok = path.is_file()
        fix = "" if ok else f"fix {self.export_setting}"
        return [ProbeResult("export file", ok, f"{path} {'readable' if ok else 'not found'}", fix)]


def _run_probe(http: SourceHTTP, probe: Probe) -> ProbeResult:
    try:
        response = http.request("GET", probe.path, params=dict(probe.params or {}))
    except SourceError as exc:
        return ProbeResult(probe.name, False, str(exc), probe.fix)
    if probe.judge is None:
        return ProbeResult(probe.name, True, "ok")
    try:
        body = response.json()
    except ValueError:
        body = None
    ok, detail, fix = probe.judge(body)
    return ProbeResult(probe.name, ok, detail, fix)


def describe(body: Any) -> str:
    """A body's top-level keys (or its type), for a 'returned no X' message."""
    if isinstance(body, dict):
        return "an object with keys: " + (", ".join(sorted(map(str, body))) or "none")
    return type(body).__name__


__all__ = ["Connector", "Credentials", "Probe", "ProbeResult", "RowProblem", "SourceConfig", "describe"]
