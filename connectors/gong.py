"""Gong: calls flagged as product feedback, from `POST /v2/calls/extensive` or an export (JSON or CSV).

Only calls that someone (or a tracker) flagged count: a tracker named like one of `GONG_TRACKERS` that fired,
or one of those words in the call's brief or highlights. The text is the brief and the highlights plus what
the customer said (snippets from EXTERNAL speakers only: our own reps' words are not customer evidence).
The customer is the CRM Account on the call; Gong allows 3 calls per second, and the connector keeps to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx

from connectors.base import Connector
from connectors.http import (
    Decision,
    JSONPathPaginator,
    MalformedPayloadError,
    RateLimiter,
    ResponseAction,
    SourceConfigError,
    SourceHTTP,
    default_decide,
    paginate,
    parse_json,
)
from connectors.signal import Signal, SourceName
from connectors.text import (
    csv_records,
    first_line,
    guess_kind,
    guess_tags,
    html_to_text,
    json_records,
    parse_timestamp,
    read_export_text,
)


def gong_decide(response: httpx.Response) -> Decision:
    """Gong answers 404 "No calls found corresponding to the provided filters" for an empty window: not an error."""
    if response.status_code == 404 and "no calls found" in response.text.lower():
        return Decision(ResponseAction.SUCCESS, reason="no calls in the window")
    return default_decide(response)


class GongConnector(Connector):
    """Product-feedback calls -> signals (customer = CRM Account, text = brief + highlights + customer quotes)."""

    source = SourceName.GONG
    enable_hint = "set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_EXPORT_PATH (JSON or CSV of calls)"
    calls_endpoint: ClassVar[str] = "/v2/calls/extensive"
    requests_per_second: ClassVar[float] = 3.0
    content_selector: ClassVar[dict[str, Any]] = {
        "context": "Extended",
        "exposedFields": {
            "parties": True,
            "content": {"brief": True, "highlights": True, "trackers": True, "pointsOfInterest": True},
        },
    }

    @property
    def export_path(self) -> Path | None:
        return self.settings.gong_export_path

    def api_configured(self) -> bool:
        s = self.settings
        return s.gong_access_key is not None and s.gong_access_key_secret is not None

    def _http(self) -> SourceHTTP:
        s = self.settings
        if s.gong_access_key is None or s.gong_access_key_secret is None:
            raise SourceConfigError(self.source.value, "GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET must both be set")
        return SourceHTTP(
            source=self.source.value,
            base_url=s.gong_api_url,
            headers={"Accept": "application/json"},
            auth=(s.gong_access_key.get_secret_value(), s.gong_access_key_secret.get_secret_value()),
            setting_hint={
                401: "Check GONG_ACCESS_KEY / GONG_ACCESS_KEY_SECRET (Gong > Company settings > API)",
                403: "The Gong API key lacks the api:calls:read:extended scope (or the company's API access is off)",
                404: "Check GONG_API_URL: use your company's regional API host (e.g. https://us-12345.api.gong.io)",
            },
            decide=gong_decide,
            rate_limiter=RateLimiter(self.requests_per_second, clock=self.clock, sleep=self.sleep),
            transport=self.transport,
            sleep=self.sleep,
        )

    # --- live API ---------------------------------------------------------------------------------------------

    def read_api(self, since: datetime | None) -> Iterator[Signal]:
        """Calls started at or after `since`, page by page on `records.cursor`."""
        http = self._http()
        call_filter: dict[str, str] = {}
        if since is not None:
            call_filter["fromDateTime"] = since.isoformat()

        def fetch(cursor: str | None) -> tuple[httpx.Response, Any]:
            payload: dict[str, Any] = {"filter": call_filter, "contentSelector": self.content_selector}
            if cursor is not None:
                payload["cursor"] = cursor
            response = http.request("POST", self.calls_endpoint, json=payload)
            if response.status_code == 404:  # "No calls found": an empty window (see gong_decide)
                return response, {"calls": []}
            body = parse_json(self.source.value, response)
            if not isinstance(body, dict) or not isinstance(body.get("calls"), list):
                raise MalformedPayloadError(
                    self.source.value, f"{self.calls_endpoint} returned no `calls` array (keys: {_keys(body)})"
                )
            return response, body

        try:
            for _, body in paginate(fetch, JSONPathPaginator(self.source.value, ("records", "cursor"))):
                for index, call in enumerate(body["calls"]):
                    call_id = _dig(call, "metaData", "id")
                    label = f"call {call_id}" if call_id else f"call #{index + 1} of the page"
                    signal = self._json_call(call, f"{self.settings.gong_api_url}{self.calls_endpoint} {label}", since)
                    if signal is not None:
                        yield signal
        finally:
            self.calls += http.calls
            http.close()

    # --- export files -----------------------------------------------------------------------------------------

    def read_export(self, since: datetime | None) -> Iterator[Signal]:
        """`.csv` -> Gong's call list CSV; anything else -> JSON as `/v2/calls/extensive` returns it."""
        path = self.export_path
        if path is None:
            return
        if path.suffix.lower() == ".csv":
            yield from self._read_csv(path, since)
            return
        text = read_export_text(self.source.value, path, "GONG_EXPORT_PATH")
        try:
            records = json_records(text, "calls")
        except json.JSONDecodeError as exc:
            raise MalformedPayloadError(
                self.source.value, f'{path}:{exc.lineno}: not valid JSON ({exc.msg}); expected {{"calls": [...]}}'
            ) from None
        if records is None:
            raise MalformedPayloadError(
                self.source.value, f'{path}: expected {{"calls": [...]}} as /v2/calls/extensive returns, or a CSV'
            )
        for index, (line, call) in enumerate(records):
            where = f"{path}:{line}" if line is not None else f"{path}:call {index + 1}"
            signal = self._json_call(call, where, since)
            if signal is not None:
                yield signal

    def _read_csv(self, path: Path, since: datetime | None) -> Iterator[Signal]:
        if not path.is_file():
            raise SourceConfigError(self.source.value, f"GONG_EXPORT_PATH={path} does not exist; fix or unset it")
        for line, row in csv_records(path):
            if "call id" not in row and "id" not in row:
                raise MalformedPayloadError(
                    self.source.value,
                    f"{path}: no `Call ID` column in the header; expected Call ID, Title, Started, Account, "
                    "Trackers, Brief, Highlights, URL",
                )
            highlights = [part.strip(" -•") for part in (row.get("highlights") or "").splitlines() if part.strip()]
            quotes = [part.strip() for part in (row.get("quotes") or "").splitlines() if part.strip()]
            signal = self._build(
                f"{path}:{line}",
                since,
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
            if signal is not None:
                yield signal

    # --- one call ---------------------------------------------------------------------------------------------

    def _json_call(self, call: Any, where: str, since: datetime | None) -> Signal | None:
        if not isinstance(call, dict) or not isinstance(call.get("metaData"), dict):
            self.skip(where, "expected a call object with `metaData` (as /v2/calls/extensive returns)")
            return None
        meta: dict[str, Any] = call["metaData"]
        raw_content = call.get("content")
        content: dict[str, Any] = raw_content if isinstance(raw_content, dict) else {}
        parties = [p for p in call.get("parties") or [] if isinstance(p, dict)]
        return self._build(
            where,
            since,
            call_id=str(meta["id"]) if isinstance(meta.get("id"), str | int) else None,
            title=str(meta.get("title") or ""),
            started=meta.get("started") or meta.get("scheduled"),
            url=meta.get("url") if isinstance(meta.get("url"), str) else None,
            account=crm_account(call.get("context")) or _external_domain(parties),
            brief=_dig(content, "brief") if isinstance(_dig(content, "brief"), str) else "",
            highlights=list(_highlight_lines(_dig(content, "highlights"))),
            quotes=list(external_quotes(content, parties)),
            trackers=_tracker_counts(_dig(content, "trackers")),
        )

    def _build(
        self,
        where: str,
        since: datetime | None,
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
        if not call_id:
            self.skip(where, "call has no id (`metaData.id` / `Call ID` is empty)")
            return None
        try:
            started_at = parse_timestamp(started)
        except ValueError as exc:
            self.skip(where, f"call {call_id}: {exc}")
            return None
        if since is not None and started_at < since:
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
        keywords = [keyword.lower() for keyword in self.settings.gong_trackers if keyword.strip()]
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
        for obj in _dig(system, "objects") or []:
            if not isinstance(obj, dict) or str(obj.get("objectType", "")).lower() != "account":
                continue
            for field in obj.get("fields") or []:
                if isinstance(field, dict) and str(field.get("name", "")).lower() == "name":
                    value = field.get("value")
                    if isinstance(value, str) and value.strip():
                        return value.strip()
    return None


def external_quotes(content: Mapping[str, Any], parties: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Snippets said by EXTERNAL parties (`pointsOfInterest.actionItems[].snippet` keyed by `speakerId`)."""
    external = {
        str(party["speakerId"])
        for party in parties
        if party.get("affiliation") == "External" and party.get("speakerId") is not None
    }
    for item in _dig(content, "pointsOfInterest", "actionItems") or []:
        if isinstance(item, dict) and str(item.get("speakerId")) in external:
            snippet = item.get("snippet")
            if isinstance(snippet, str) and snippet.strip():
                yield re.sub(r"\s+", " ", snippet).strip()


def parse_tracker_cell(cell: str) -> dict[str, int]:
    """`Product feedback:2; Competitors (1), Pricing` -> {"Product feedback": 2, "Competitors": 1, "Pricing": 1}."""
    counts: dict[str, int] = {}
    for part in re.split(r"[;,\n]", cell):
        match = re.fullmatch(r"\s*(.*?)\s*(?:[:=]\s*(\d+)|\((\d+)\))?\s*", part)
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


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _keys(body: Any) -> str:
    return ", ".join(sorted(map(str, body))) if isinstance(body, dict) else type(body).__name__


__all__ = ["GongConnector", "crm_account", "external_quotes", "gong_decide", "parse_tracker_cell"]
