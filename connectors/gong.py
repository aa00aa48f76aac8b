"""Gong: calls flagged as product feedback, from `POST /v2/calls/extensive` or an export (JSON or CSV).

Only calls that someone (or a tracker) flagged count: a tracker named like one of `GONG_TRACKERS` that fired,
or one of those words in the call's brief or highlights. The text is the brief and the highlights plus what
the customer said (snippets from EXTERNAL speakers only: our own reps' words are not customer evidence).
The customer is the CRM Account on the call; Gong allows 3 calls per second, and the connector keeps to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from connectors.base import Connector, Credentials, Probe, SourceConfig
from connectors.cursor import Window
from connectors.exports import ExportFile
from connectors.http import (
    DEFAULT_TABLE,
    Decision,
    JSONBodyPaginator,
    PageRequest,
    ResponseAction,
    SourceConfigError,
    dig,
)
from connectors.signal import Signal, SourceName
from connectors.text import describe_id, first_line, guess_kind, guess_tags, html_to_text, parse_id, parse_timestamp

EXPORT_SHAPE = '{"calls": [...]} as /v2/calls/extensive returns, or a CSV'


def no_calls_found(response: httpx.Response) -> Decision | None:
    """Gong answers 404 "No calls found corresponding to the provided filters" for an empty window: not an error."""
    if "no calls found" in response.text.lower():
        return Decision(ResponseAction.IGNORE, reason="no calls in the window")
    return None


gong_decide = DEFAULT_TABLE.override({404: no_calls_found})


@dataclass(frozen=True, kw_only=True)
class GongConfig(SourceConfig):
    """GONG_* settings."""

    api_url: str = "https://api.gong.io"
    access_key: SecretStr | None = None
    access_key_secret: SecretStr | None = None
    trackers: tuple[str, ...] = ("product feedback", "feature request")


@dataclass(frozen=True)
class _CsvCall:
    """A row of Gong's call list CSV (the JSON records are plain dicts)."""

    row: Mapping[str, str]


class GongConnector(Connector):
    """Product-feedback calls -> signals (customer = CRM Account, text = brief + highlights + customer quotes)."""

    config: GongConfig
    source = SourceName.GONG
    enable_hint = "set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_EXPORT_PATH (JSON or CSV of calls)"
    base_url_setting = "GONG_API_URL"
    export_setting = "GONG_EXPORT_PATH"
    setting_hints: ClassVar[Mapping[int, str]] = {
        401: "Check GONG_ACCESS_KEY / GONG_ACCESS_KEY_SECRET (Gong > Company settings > API)",
        403: "The Gong API key lacks the api:calls:read:extended scope (or the company's API access is off)",
        404: "Check GONG_API_URL: use your company's regional API host (e.g. https://us-12345.api.gong.io)",
    }
    decide = gong_decide
    requests_per_second = 3.0
    endpoint = "/v2/calls/extensive"
    calls_endpoint: ClassVar[str] = endpoint
    method = "POST"
    paginator = JSONBodyPaginator(token_path=("records", "cursor"), body_key="cursor")
    records_path = ("calls",)
    content_selector: ClassVar[dict[str, Any]] = {
        "context": "Extended",
        "exposedFields": {
            "parties": True,
            "content": {"brief": True, "highlights": True, "trackers": True, "pointsOfInterest": True},
        },
    }

    def api_configured(self) -> bool:
        return self.config.access_key is not None and self.config.access_key_secret is not None

    def credentials(self) -> Credentials:
        key, secret = self.config.access_key, self.config.access_key_secret
        if key is None or secret is None:
            raise SourceConfigError(self.source.value, "GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET must both be set")
        return {"Accept": "application/json"}, (key.get_secret_value(), secret.get_secret_value())

    # --- live API ---------------------------------------------------------------------------------------------

    def first_request(self, target: str, window: Window) -> PageRequest:
        """Calls started at or after the window's start, page by page on `records.cursor`."""
        call_filter = {"fromDateTime": window.first.isoformat()} if window.first is not None else {}
        return PageRequest(
            url=self.endpoint,
            method=self.method,
            json={"filter": call_filter, "contentSelector": self.content_selector},
        )

    def where(self, target: str, page: int, index: int, record: Any) -> str:
        call_id = dig(record, ("metaData", "id"))
        label = f"call {call_id}" if call_id else f"call #{index + 1} of the page"
        return f"{self.config.api_url}{self.endpoint} {label}"

    # --- export files -----------------------------------------------------------------------------------------

    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        """`.csv` -> Gong's call list CSV; anything else -> JSON as `/v2/calls/extensive` returns it."""
        if export.path.suffix.lower() != ".csv":
            head = export.nonblank_text()[:4096]
            if '"callTranscripts"' in head and '"calls"' not in head:
                raise export.malformed(
                    "this is a /v2/calls/transcript export, not a calls export; export POST /v2/calls/extensive"
                    " (see docs/exports.md) and point GONG_EXPORT_PATH at that file"
                )
            yield from export.records("calls", EXPORT_SHAPE, label="call")
            return
        for where, row in export.csv_rows():
            if "call id" not in row and "id" not in row:
                raise export.malformed(
                    "no `Call ID` column in the header; expected Call ID, Title, Started, Account, "
                    "Trackers, Brief, Highlights, URL"
                )
            yield where, _CsvCall(row)

    def export_signal(self, record: Any, where: str) -> Signal | None:
        if not isinstance(record, _CsvCall):
            return self.to_signal(record, where)
        row = record.row
        highlights = [part.strip(" -•") for part in (row.get("highlights") or "").splitlines() if part.strip()]
        quotes = [part.strip() for part in (row.get("quotes") or "").splitlines() if part.strip()]
        return self._build(
            where,
            call_id=row.get("call id") or row.get("id") or None,
            title=row.get("title") or "",
            started=row.get("started") or row.get("date") or None,
            url=row.get("url") or None,
            account=row.get("account") or row.get("company") or None,
            brief=row.get("brief") or "",
            highlights=highlights,
            quotes=quotes,
            trackers=parse_tracker_cell(row.get("trackers") or ""),
        )

    # --- doctor -----------------------------------------------------------------------------------------------

    def probes(self) -> list[Probe]:
        fix = "check GONG_ACCESS_KEY / GONG_ACCESS_KEY_SECRET and that the key has api:calls:read:extensive"
        return [Probe("auth", "/v2/users", fix, params={"limit": 1})]

    # --- one call ---------------------------------------------------------------------------------------------

    def to_signal(self, record: Any, where: str) -> Signal | None:
        call = record
        if not isinstance(call, dict) or not isinstance(call.get("metaData"), dict):
            self.skip(where, "expected a call object with `metaData` (as /v2/calls/extensive returns)")
            return None
        meta: dict[str, Any] = call["metaData"]
        raw_content = call.get("content")
        content: dict[str, Any] = raw_content if isinstance(raw_content, dict) else {}
        parties = [p for p in call.get("parties") or [] if isinstance(p, dict)]
        return self._build(
            where,
            call_id=str(meta["id"]) if isinstance(meta.get("id"), str | int) else None,
            title=str(meta.get("title") or ""),
            started=meta.get("started") or meta.get("scheduled"),
            url=meta.get("url") if isinstance(meta.get("url"), str) else None,
            account=crm_account(call.get("context")) or _external_domain(parties),
            brief=dig(content, ("brief",)) if isinstance(dig(content, ("brief",)), str) else "",
            highlights=list(_highlight_lines(dig(content, ("highlights",)))),
            quotes=list(external_quotes(content, parties)),
            trackers=_tracker_counts(dig(content, ("trackers",))),
        )

    def _build(
        self,
        where: str,
        *,
        call_id: str | None,
        title: str,
        started: Any,
        url: str | None,
        account: str | None,
        brief: str,
        highlights: list[str],
        quotes: list[str],
        trackers: Mapping[str, int],
    ) -> Signal | None:
        """The one place a call becomes a signal (or is dropped as not feedback), for JSON and CSV alike."""
        if parse_id(call_id) is None:
            self.skip(where, f"call (`metaData.id` / `Call ID`): {describe_id(call_id)}")
            return None
        try:
            started_at = parse_timestamp(started)
        except ValueError as exc:
            self.skip(where, f"call {call_id}: {exc}")
            return None
        brief_text = html_to_text(brief)
        if not self._is_feedback(trackers, [brief_text, *highlights]):
            return None
        sections = [brief_text]
        if highlights:
            sections.append("Highlights:\n" + "\n".join(f"- {line}" for line in highlights))
        if quotes:
            sections.append("Customer said:\n" + "\n".join(f'- "{quote}"' for quote in quotes))
        text = "\n\n".join(section for section in sections if section)
        fired = [name for name, count in trackers.items() if count > 0]
        clean_title = first_line(title) if title.strip() else ""
        return Signal(
            source=self.source,
            external_id=call_id,
            url=url,
            title=clean_title or first_line(text) or f"Gong call {call_id}",
            text=text,
            customer=account,
            segment=None,
            kind_hint=guess_kind(clean_title, brief_text, *highlights, *quotes, labels=fired),
            votes=None,
            rating=None,
            created_at=started_at,
            updated_at=started_at,
            tags=guess_tags(clean_title, text),
        )

    def _is_feedback(self, trackers: Mapping[str, int], texts: Iterable[str]) -> bool:
        """A configured tracker fired (count > 0), or a configured keyword is in the brief or highlights."""
        keywords = [keyword.lower() for keyword in self.config.trackers if keyword.strip()]
        if not keywords:
            return True
        for name, count in trackers.items():
            if count > 0 and any(keyword == name.lower() or keyword in name.lower() for keyword in keywords):
                return True
        joined = "\n".join(texts).lower()
        return any(keyword in joined for keyword in keywords)


def crm_account(context: Any) -> str | None:
    """The CRM Account's name: `context[].objects[objectType=Account].fields[name=Name].value`."""
    if not isinstance(context, list):
        return None
    for system in context:
        for obj in dig(system, ("objects",)) or []:
            if not isinstance(obj, dict) or str(obj.get("objectType", "")).lower() != "account":
                continue
            for field in obj.get("fields") or []:
                if isinstance(field, dict) and str(field.get("name", "")).lower() == "name":
                    value = field.get("value")
                    if isinstance(value, str) and value.strip():
                        return value.strip()
    return None


def _speaker(item: Mapping[str, Any]) -> str | None:
    """Gong spells it `speakerId` in parties and trackers but `speakerID` in actionItems: accept both."""
    value = item.get("speakerId", item.get("speakerID"))
    return None if value is None else str(value)


def external_quotes(content: Mapping[str, Any], parties: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Snippets said by EXTERNAL parties (`pointsOfInterest.actionItems[].snippet` keyed by speaker id)."""
    external = {speaker for party in parties if party.get("affiliation") == "External" and (speaker := _speaker(party))}
    for item in (
        dig(
            content,
            (
                "pointsOfInterest",
                "actionItems",
            ),
        )
        or []
    ):
        if isinstance(item, dict) and _speaker(item) in external:
            snippet = item.get("snippet")
            if isinstance(snippet, str) and snippet.strip():
                yield re.sub(r"\s+", " ", snippet).strip()


def parse_tracker_cell(cell: str) -> dict[str, int]:
    """`Product feedback:2; Competitors (1), Pricing` -> {"Product feedback": 2, "Competitors": 1, "Pricing": 1}."""
    counts: dict[str, int] = {}
    for part in re.split(r"[;,\n]", cell):
        match = re.fullmatch(r"\s*(.*?)\s*(?:[:=]\s*(\d{1,9})|\((\d{1,9})\))?\s*", part)  # a count, not 5,000 digits
        if match and match.group(1):
            counts[match.group(1)] = int(match.group(2) or match.group(3) or 1)
    return counts


def _tracker_counts(trackers: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    if isinstance(trackers, list):
        for tracker in trackers:
            if isinstance(tracker, dict) and isinstance(tracker.get("name"), str):
                count = tracker.get("count")
                counts[tracker["name"]] = count if isinstance(count, int) and not isinstance(count, bool) else 0
    return counts


def _highlight_lines(highlights: Any) -> Iterator[str]:
    """`[{"title": "Pain points", "items": [{"text": ...}]}]` -> "Pain points: <text>" lines."""
    if not isinstance(highlights, list):
        return
    for section in highlights:
        if not isinstance(section, dict):
            continue
        title = section.get("title") if isinstance(section.get("title"), str) else ""
        for item in section.get("items") or []:
            text = item.get("text") if isinstance(item, dict) else None
            if isinstance(text, str) and text.strip():
                clean = html_to_text(text)
                yield f"{title}: {clean}" if title else clean


def _external_domain(parties: Iterable[Mapping[str, Any]]) -> str | None:
    """No CRM account: the first external participant's email domain."""
    for party in parties:
        email = party.get("emailAddress")
        if party.get("affiliation") == "External" and isinstance(email, str) and "@" in email:
            return email.rsplit("@", 1)[1].lower()
    return None


__all__ = ["GongConfig", "GongConnector", "crm_account", "external_quotes", "gong_decide", "parse_tracker_cell"]
