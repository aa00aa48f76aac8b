"""PagerDuty: on-call incidents of the last weeks (REST API v2 `/incidents`, offset pages while `more`), or an
export (the JSON of `/incidents` pages, or the incidents CSV PagerDuty's web app downloads).

An incident is reliability work the planner must see: every row is typed Reliability. Its excerpt says what
on-call needs to know at a glance: urgency, service, status and how long it lasted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from connectors.base import Connector, Credentials, Probe, SourceConfig
from connectors.cursor import Window
from connectors.exports import ExportFile
from connectors.http import PageRequest, QueryParamPaginator, SourceConfigError, dig
from connectors.signal import KindHint, Signal, SourceName
from connectors.text import first_line, guess_tags, normalize_whitespace, parse_timestamp


@dataclass(frozen=True)
class OffsetPaginator(QueryParamPaginator):
    """PagerDuty's classic pagination: while `more` is true, the next page starts at `offset + limit`."""

    param: str = "offset"

    def place(self, request: PageRequest, token: str) -> PageRequest:
        """The whole query rides in the URL (httpx would drop a URL's query when params are given)."""
        return replace(request, url=str(httpx.URL(request.url).copy_set_param(self.param, token)), params={})

    def next_token(self, response: httpx.Response, body: Any) -> str | None:
        if dig(body, ("more",)) is not True:
            return None
        try:
            offset, limit = int(dig(body, ("offset",)) or 0), int(dig(body, ("limit",)) or 0)
        except (TypeError, ValueError):
            return None
        return str(offset + limit) if limit > 0 else None


@dataclass(frozen=True, kw_only=True)
class PagerDutyConfig(SourceConfig):
    """PAGERDUTY_* settings."""

    api_url: str = "https://api.pagerduty.com"
    api_token: SecretStr | None = None
    service_ids: tuple[str, ...] = ()


def duration_text(seconds: float | None) -> str:
    """`4380` -> `1h 13m`; None (still open) -> `still open`."""
    if seconds is None:
        return "still open"
    minutes = max(0, int(seconds // 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes or not (days or hours) else "",
    ]
    return " ".join(part for part in parts if part)


class PagerDutyConnector(Connector):
    """Incidents of `PAGERDUTY_SERVICE_IDS` (all services when empty) -> Reliability signals."""

    config: PagerDutyConfig
    source = SourceName.PAGERDUTY
    enable_hint = "set PAGERDUTY_API_TOKEN (and PAGERDUTY_SERVICE_IDS), or PAGERDUTY_EXPORT_PATH"
    base_url_setting = "PAGERDUTY_API_URL"
    export_setting = "PAGERDUTY_EXPORT_PATH"
    setting_hints: ClassVar[Mapping[int, str]] = {
        400: "Check PAGERDUTY_SERVICE_IDS (service ids such as PIJ90N7); a cursor older than six months (PagerDuty's"
        " longest range) needs one `backlog sync --since <a date within six months>`",
        401: "Check PAGERDUTY_API_TOKEN: PagerDuty rejected it (Integrations > API Access Keys > a read-only key)",
        403: "The PAGERDUTY_API_TOKEN may not read incidents; use a read-only account key or a user token with access",
        404: "Check PAGERDUTY_API_URL (https://api.pagerduty.com, or https://api.eu.pagerduty.com for EU accounts)",
    }
    endpoint = "/incidents"
    paginator = OffsetPaginator()
    records_path = ("incidents",)
    records_expected = "an `incidents` array"
    page_size: ClassVar[int] = 100

    def api_configured(self) -> bool:
        token = self.config.api_token
        return token is not None and bool(token.get_secret_value())

    def credentials(self) -> Credentials:
        token = self.config.api_token
        if token is None:
            raise SourceConfigError(self.source.value, "PAGERDUTY_API_TOKEN is not set")
        headers = {
            "Authorization": f"Token token={token.get_secret_value()}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        }
        return headers, None

    # --- live API ---------------------------------------------------------------------------------------------

    def first_request(self, target: str, window: Window) -> PageRequest:
        """`service_ids[]` repeats once per service, so the query is written into the URL, not a params mapping."""
        pairs = [("service_ids[]", sid) for sid in self.config.service_ids]
        query = urlencode([*pairs, *((k, str(v)) for k, v in self.params(window).items())])
        return PageRequest(url=f"{self.endpoint}?{query}")

    def params(self, window: Window) -> dict[str, str | int]:
        params: dict[str, str | int] = {"limit": self.page_size, "offset": 0, "sort_by": "created_at:asc"}
        if window.first is None:
            params["date_range"] = "all"  # without it PagerDuty answers the last month only
        else:
            params["since"] = window.first.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # inclusive: closed start
            params["until"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # since..now, at most six months
        return params

    def where(self, target: str, page: int, index: int, record: Any) -> str:
        incident = record.get("id") if isinstance(record, dict) else None
        return f"{self.config.api_url}/incidents page {page} incident {incident or f'#{index + 1}'}"

    def to_signal(self, record: Any, where: str) -> Signal | None:
        if not isinstance(record, dict):
            self.skip(where, f"expected an incident object, got {type(record).__name__}")
            return None
        service = record.get("service") if isinstance(record.get("service"), dict) else {}
        return self._build(
            where,
            incident_id=_text(record.get("id")),
            number=_text(record.get("incident_number")),
            title=_text(record.get("title")) or _text(record.get("summary")),
            description=_text(record.get("description")),
            urgency=_text(record.get("urgency")),
            status=_text(record.get("status")),
            service=_text((service or {}).get("summary")),
            created=record.get("created_at"),
            updated=record.get("updated_at") or record.get("last_status_change_at"),
            resolved=record.get("resolved_at") if record.get("status") == "resolved" else None,
            url=_text(record.get("html_url")),
        )

    # --- export file ------------------------------------------------------------------------------------------

    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        """A JSON `/incidents` page, a list of pages or of incidents; else the incidents CSV."""
        if export.text().lstrip()[:1] not in ("{", "["):
            for where, row in export.csv_rows():
                if not {"id", "incident id"} & row.keys():
                    raise export.malformed(
                        "no `Incident ID` (or `id`) column in the header; expected PagerDuty's incidents CSV"
                        " (Incident ID, Incident Number, Title, Urgency, Status, Service, Created On, Resolved On)",
                        1,
                    )
                yield where, _CsvIncident(row)
            return
        whole = export.json("the JSON of GET /incidents (an object with `incidents`, or a list of them)")
        if isinstance(whole, list) and whole and all(isinstance(p, dict) and "incidents" in p for p in whole):
            for number, page in enumerate(whole, start=1):
                incidents = page["incidents"] if isinstance(page["incidents"], list) else []
                for index, incident in enumerate(incidents, start=1):
                    yield f"{export.path}:page {number} incident {index}", incident
            return
        yield from export.records("incidents", "the JSON of GET /incidents (an object with an `incidents` array)")

    def export_signal(self, record: Any, where: str) -> Signal | None:
        if not isinstance(record, _CsvIncident):
            return self.to_signal(record, where)
        cell = record.cell
        resolved = cell("resolved on", "resolved at", "resolved")
        return self._build(
            where,
            incident_id=cell("incident id", "id"),
            number=cell("incident number", "number"),
            title=cell("title", "description", "summary"),
            description=None,
            urgency=cell("urgency"),
            status=cell("status") or ("resolved" if resolved else None),
            service=cell("service", "service name"),
            created=cell("created on", "created at", "created"),
            updated=resolved or cell("updated at", "last status change at"),
            resolved=resolved,
            url=cell("url", "html url", "link"),
        )

    # --- doctor -----------------------------------------------------------------------------------------------

    def probes(self) -> list[Probe]:
        token = Probe("token", "/abilities", "check PAGERDUTY_API_TOKEN and PAGERDUTY_API_URL")
        return [token] + [
            Probe(f"service {sid}", f"/services/{sid}", f"check {sid} in PAGERDUTY_SERVICE_IDS")
            for sid in self.config.service_ids
        ]

    # --- one incident -----------------------------------------------------------------------------------------

    def _build(
        self,
        where: str,
        *,
        incident_id: str | None,
        number: str | None,
        title: str | None,
        description: str | None,
        urgency: str | None,
        status: str | None,
        service: str | None,
        created: Any,
        updated: Any,
        resolved: Any,
        url: str | None,
    ) -> Signal | None:
        """The one place an incident becomes a signal, so the API and the exports cannot drift apart."""
        if not incident_id:
            self.skip(where, "incident has no id")
            return None
        try:
            created_at = parse_timestamp(created)
            resolved_at = parse_timestamp(resolved) if resolved else None
            updated_at = max(created_at, parse_timestamp(updated) if updated else resolved_at or created_at)
        except ValueError as exc:
            self.skip(where, f"incident {incident_id}: {exc}")
            return None
        seconds = (resolved_at - created_at).total_seconds() if resolved_at else None
        facts = [
            f"Urgency: {urgency}" if urgency else "",
            f"Service: {service}" if service else "",
            f"Status: {status}" if status else "",
            f"Duration: {duration_text(seconds)}",
        ]
        heading = first_line(title or "") or f"Incident {number or incident_id}"
        details = normalize_whitespace(description or "")
        body = " · ".join(fact for fact in facts if fact)
        text = "\n".join(part for part in (heading, body, details if details != heading else "") if part)
        return Signal(
            source=self.source,
            external_id=incident_id,
            url=url or None,
            title=f"[#{number}] {heading}" if number else heading,
            text=text,
            customer=None,
            kind_hint=KindHint.RELIABILITY,
            created_at=created_at,
            updated_at=updated_at,
            tags=guess_tags(heading, details),
        )


@dataclass(frozen=True)
class _CsvIncident:
    """A row of the incidents CSV (so `export_signal` tells it from an API incident)."""

    row: Mapping[str, str]

    def cell(self, *names: str) -> str | None:
        return next((self.row[name] for name in names if self.row.get(name)), None)


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return text or None


__all__ = ["OffsetPaginator", "PagerDutyConfig", "PagerDutyConnector", "duration_text"]
