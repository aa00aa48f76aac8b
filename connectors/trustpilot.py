"""Trustpilot: reviews of one business unit (`/v1/business-units/<id>/reviews`, page/perPage and the
`next-page` link), or the reviews CSV that Trustpilot Business exports.

Stars are the rating. The reviewer is a consumer, not an account we know, so `customer` stays empty. Reviews
come newest first; the read stops at the first page that reaches before the window, so a resumed sync reads
only the pages it needs (the window also goes into the request as `startDateTime`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from connectors.base import Connector, Credentials, Probe, ProbeResult, SourceConfig
from connectors.cursor import Window
from connectors.exports import ExportFile
from connectors.http import NextURLPaginator, SourceConfigError, SourceHTTP, paginate
from connectors.signal import Signal, SourceName
from connectors.text import first_line, guess_kind, guess_tags, html_to_text, parse_timestamp

REVIEW_URL = "https://www.trustpilot.com/reviews/{review_id}"


@dataclass(frozen=True)
class RelLinkPaginator(NextURLPaginator):
    """Trustpilot's `links: [{"rel": "next-page", "href": ...}]`: the href is the next page's URL."""

    rel: str = "next-page"

    def next_token(self, response: httpx.Response, body: Any) -> str | None:
        links = body.get("links") if isinstance(body, dict) else None
        for link in links if isinstance(links, list) else []:
            if isinstance(link, dict) and link.get("rel") == self.rel and link.get("href"):
                return str(link["href"])
        return None


@dataclass(frozen=True, kw_only=True)
class TrustpilotConfig(SourceConfig):
    """TRUSTPILOT_* settings."""

    api_url: str = "https://api.trustpilot.com"
    api_key: SecretStr | None = None
    business_unit_id: str | None = None


class TrustpilotConnector(Connector):
    """Reviews of `TRUSTPILOT_BUSINESS_UNIT_ID` -> signals with the stars as the rating."""

    config: TrustpilotConfig
    source = SourceName.TRUSTPILOT
    enable_hint = "set TRUSTPILOT_API_KEY and TRUSTPILOT_BUSINESS_UNIT_ID, or TRUSTPILOT_EXPORT_PATH (reviews CSV)"
    base_url_setting = "TRUSTPILOT_API_URL"
    export_setting = "TRUSTPILOT_EXPORT_PATH"
    setting_hints: ClassVar[Mapping[int, str]] = {
        401: "Check TRUSTPILOT_API_KEY: Trustpilot rejected it (Integrations > API in Trustpilot Business)",
        403: "The TRUSTPILOT_API_KEY has no access to this business unit; check TRUSTPILOT_BUSINESS_UNIT_ID",
        404: "Check TRUSTPILOT_BUSINESS_UNIT_ID (find it with GET /v1/business-units/find?name=<your domain>)",
    }
    endpoint = "/v1/business-units/{target}/reviews"
    paginator = RelLinkPaginator()
    records_path = ("reviews",)
    records_expected = "a `reviews` array"
    page_size: ClassVar[int] = 100
    max_stars: ClassVar[int] = 5

    def api_configured(self) -> bool:
        return self.probe_configured() and bool(self.config.business_unit_id)

    def credentials(self) -> Credentials:
        key = self.config.api_key
        if key is None:
            raise SourceConfigError(self.source.value, "TRUSTPILOT_API_KEY is not set")
        return {"apikey": key.get_secret_value(), "Accept": "application/json"}, None

    # --- live API ---------------------------------------------------------------------------------------------

    def targets(self) -> tuple[str, ...]:
        return (self.config.business_unit_id or "",)

    def params(self, window: Window) -> dict[str, str | int]:
        params: dict[str, str | int] = {"perPage": self.page_size, "page": 1, "orderBy": "createdat.desc"}
        if window.first is not None:
            params["startDateTime"] = window.first.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return params

    def read_target(self, http: SourceHTTP, target: str, window: Window) -> Iterator[Signal]:
        """Pages newest first; the page whose oldest review is before the window is the last one read."""
        send = self.sender(http)
        pages = paginate(send, self.paginator, self.first_request(target, window), source=self.source.value)
        for page, (response, body) in enumerate(pages, start=1):
            oldest = None
            for index, record in enumerate(self.page_records(http, response, body)):
                signal = self.to_signal(record, self.where(target, page, index, record))
                if signal is not None:
                    oldest = signal.created_at if oldest is None else min(oldest, signal.created_at)
                yield from self.admit(signal, window)
            if oldest is not None and window.first is not None and oldest < window.first:
                return

    def where(self, target: str, page: int, index: int, record: Any) -> str:
        review = record.get("id") if isinstance(record, dict) else None
        return f"{self.config.api_url}/v1/business-units/{target}/reviews page {page} review {review or index + 1}"

    def to_signal(self, record: Any, where: str) -> Signal | None:
        if not isinstance(record, dict):
            self.skip(where, f"expected a review object, got {type(record).__name__}")
            return None
        return self._build(
            where,
            review_id=record.get("id"),
            title=record.get("title"),
            text=record.get("text"),
            stars=record.get("stars"),
            created=record.get("createdAt"),
            updated=record.get("updatedAt"),
            likes=record.get("numberOfLikes"),
        )

    # --- export file ------------------------------------------------------------------------------------------

    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        """Trustpilot Business > Reviews > Export (CSV): errors name the CSV line."""
        for where, row in export.csv_rows():
            if _cell_name(row, "review id", "id") is None:
                raise export.malformed(
                    "no `Review ID` column in the header; expected Trustpilot's review export"
                    " (Review ID, Review Created (UTC), Review Title, Review Content, Review Stars, ...)",
                    1,
                )
            yield where, row

    def export_signal(self, record: Any, where: str) -> Signal | None:
        row: Mapping[str, str] = record
        return self._build(
            where,
            review_id=_cell(row, "review id", "id"),
            title=_cell(row, "review title", "title"),
            text=_cell(row, "review content", "review text", "content", "text"),
            stars=_cell(row, "review stars", "stars", "rating"),
            created=_cell(row, "review created utc", "review created date utc", "review created", "created at"),
            updated=_cell(row, "review updated utc", "review updated", "updated at"),
            likes=None,
        )

    # --- doctor -----------------------------------------------------------------------------------------------

    def probe_configured(self) -> bool:
        return self.config.api_key is not None and bool(self.config.api_key.get_secret_value())

    def incomplete(self) -> ProbeResult | None:
        if self.probe_configured() and not self.config.business_unit_id:
            fix = "set TRUSTPILOT_BUSINESS_UNIT_ID (GET /v1/business-units/find?name=<your domain> shows it)"
            return ProbeResult(
                "business unit", False, "TRUSTPILOT_API_KEY set but TRUSTPILOT_BUSINESS_UNIT_ID missing", fix
            )
        return None

    def probes(self) -> list[Probe]:
        path = f"/v1/business-units/{self.config.business_unit_id}"
        return [Probe("api key + business unit", path, "check TRUSTPILOT_API_KEY and TRUSTPILOT_BUSINESS_UNIT_ID")]

    # --- one review -------------------------------------------------------------------------------------------

    def _build(
        self, where: str, *, review_id: Any, title: Any, text: Any, stars: Any, created: Any, updated: Any, likes: Any
    ) -> Signal | None:
        """The one place a review becomes a signal, so the API and the CSV cannot drift apart."""
        rid = str(review_id).strip() if isinstance(review_id, str | int) and not isinstance(review_id, bool) else ""
        if not rid:
            self.skip(where, "review has no id")
            return None
        try:
            rating = _stars(stars, self.max_stars)
            created_at = parse_timestamp(created)
            updated_at = max(created_at, parse_timestamp(updated)) if updated else created_at
        except ValueError as exc:
            self.skip(where, f"review {rid}: {exc}")
            return None
        heading = first_line(html_to_text(str(title or "")))
        body = html_to_text(str(text or ""))
        return Signal(
            source=self.source,
            external_id=rid,
            url=REVIEW_URL.format(review_id=rid),
            title=heading or first_line(body) or f"Trustpilot review {rid}",
            text="\n\n".join(part for part in (heading, body) if part),
            customer=None,  # a consumer's display name, not an account
            kind_hint=guess_kind(heading, body),
            votes=likes if isinstance(likes, int) and not isinstance(likes, bool) else None,
            rating=rating,
            created_at=created_at,
            updated_at=updated_at,
            tags=guess_tags(heading, body),
        )


def _stars(value: Any, maximum: int) -> float | None:
    if value in (None, ""):
        return None
    try:
        stars = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"stars {value!r} is not a number (expected 1 to {maximum})") from None
    if not 1 <= stars <= maximum:
        raise ValueError(f"stars {value!r} is out of range (expected 1 to {maximum})")
    return stars


def _cell_name(row: Mapping[str, str], *names: str) -> str | None:
    return next((name for name in names if name in row), None)


def _cell(row: Mapping[str, str], *names: str) -> str | None:
    return next((row[name] for name in names if row.get(name)), None)


__all__ = ["RelLinkPaginator", "TrustpilotConfig", "TrustpilotConnector"]
