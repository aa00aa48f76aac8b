"""G2: product reviews from the v2 reviews API (JSON:API) or G2's CSV export of reviews.

A review's text is its title plus the answers to G2's three open questions (what do you like best, what do
you dislike, recommendations to others); `star_rating` is the rating. G2 reports the reviewer's company
segment (Small-Business / Mid-Market / Enterprise), not an account we know, so it goes into `tags` as
`segment:small-business|mid-market|enterprise`; `customer` is the reviewer's company when G2 discloses it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from connectors.base import Connector, Credentials, Probe, ProbeResult, SourceConfig
from connectors.cursor import Window
from connectors.exports import ExportFile
from connectors.http import NextURLPaginator, SourceConfigError, SourceHTTP
from connectors.signal import Signal, SourceName
from connectors.text import first_line, guess_kind, guess_tags, html_to_text, parse_timestamp

# G2's question labels, as they head the text so a reader knows which answer is which.
LOVE, HATE, RECOMMENDATIONS = "What do you like best?", "What do you dislike?", "Recommendations to others"


def segment_tag(raw: str | None) -> str | None:
    """`Mid-Market(51-1000 emp.)` -> `segment:mid-market`; None when G2 gave no (known) segment."""
    if not raw:
        return None
    lowered = raw.lower()
    for name in ("small-business", "mid-market", "enterprise"):
        if name in lowered or name.replace("-", " ") in lowered:
            return f"segment:{name}"
    return None


@dataclass(frozen=True, kw_only=True)
class G2Config(SourceConfig):
    """G2_* settings."""

    api_url: str = "https://data.g2.com"
    api_token: SecretStr | None = None
    product_id: str | None = None


class G2Connector(Connector):
    """G2 reviews of one product -> signals with the star rating and the reviewer's segment as a tag."""

    config: G2Config
    source = SourceName.G2
    enable_hint = "set G2_API_TOKEN and G2_PRODUCT_ID, or G2_EXPORT_PATH (G2's CSV export of reviews)"
    base_url_setting = "G2_API_URL"
    export_setting = "G2_EXPORT_PATH"
    setting_hints: ClassVar[Mapping[int, str]] = {
        401: "Check G2_API_TOKEN: G2 rejected it (create one under My Products > Integrations > API Tokens)",
        403: "The G2_API_TOKEN has no access to this product's reviews; check G2_PRODUCT_ID and the token",
        404: "Check G2_PRODUCT_ID (the product's UUID) and G2_API_URL",
    }
    endpoint = "/api/v2/products/{target}/reviews"
    reviews_endpoint: ClassVar[str] = endpoint
    paginator = NextURLPaginator(token_path=("links", "next"))  # the `page[after]` cursor, as a URL
    records_path = ("data",)
    records_expected = "a JSON:API `data` array"
    page_size: ClassVar[int] = 100
    max_rating: ClassVar[float] = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._included: dict[tuple[str, str], Mapping[str, Any]] = {}

    def api_configured(self) -> bool:
        token = self.config.api_token
        return token is not None and bool(token.get_secret_value()) and bool(self.config.product_id)

    def credentials(self) -> Credentials:
        token = self.config.api_token
        if token is None:
            raise SourceConfigError(self.source.value, "G2_API_TOKEN is not set")
        headers = {"Authorization": f"Bearer {token.get_secret_value()}", "Accept": "application/vnd.api+json"}
        return headers, None

    # --- live API ---------------------------------------------------------------------------------------------

    def targets(self) -> tuple[str, ...]:
        return (self.config.product_id or "",)

    def params(self, window: Window) -> dict[str, str | int]:
        params: dict[str, str | int] = {"page[size]": self.page_size}
        if window.first is not None:
            # The filter is strict (`_gt`); one second earlier makes it a closed start. The upsert dedupes.
            params["filter[updated_at_gt]"] = (window.first - timedelta(seconds=1)).isoformat()
        return params

    def page_records(self, http: SourceHTTP, response: httpx.Response, body: Any) -> list[Any]:
        records = super().page_records(http, response, body)
        self._included = _included_by_key(body.get("included"))
        return records

    def where(self, target: str, page: int, index: int, record: Any) -> str:
        endpoint = self.endpoint.format(target=target)
        return f"{self.config.api_url}{endpoint} review {_item_id(record) or f'#{index + 1}'}"

    def to_signal(self, record: Any, where: str) -> Signal | None:
        item = record
        if not isinstance(item, dict) or not isinstance(item.get("attributes"), dict):
            self.skip(where, "expected a JSON:API resource with `attributes`")
            return None
        attrs: dict[str, Any] = item["attributes"]
        raw_answers = attrs.get("comment_answers")
        answers: dict[str, Any] = raw_answers if isinstance(raw_answers, dict) else {}
        reviewer = _reviewer(item, self._included)
        links = item.get("links") if isinstance(item.get("links"), dict) else {}
        url = _first_str(attrs, "public_url", "url", "review_url") or _first_str(links, "public", "html")
        return self._build(
            where,
            review_id=_item_id(item),
            title=_as_text(attrs.get("title")),
            love=_answer(answers, attrs, "love"),
            hate=_answer(answers, attrs, "hate"),
            recommendations=_answer(answers, attrs, "recommendations"),
            rating=attrs.get("star_rating"),
            company=_first_str(attrs, "reviewer_company", "company_name", "user_company")
            or _first_str(reviewer, "company_name", "company"),
            segment=_first_str(attrs, "company_segment", "reviewer_company_segment", "market_segment")
            or _first_str(reviewer, "company_segment", "market_segment"),
            submitted=attrs.get("submitted_at") or attrs.get("published_at") or attrs.get("created_at"),
            updated=attrs.get("updated_at"),
            url=url,
            votes=attrs.get("votes_up"),
        )

    # --- export file ------------------------------------------------------------------------------------------

    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        """G2's CSV export of reviews: the header row names the columns; errors name the CSV line."""
        for where, row in export.csv_rows():
            if "review id" not in row and "id" not in row:
                raise export.malformed(
                    "no `Review ID` column in the header; expected G2's review export "
                    "(Review ID, Title, Star Rating, What do you like best?, ..., Submitted At, Updated At, URL)"
                )
            yield where, row

    def export_signal(self, record: Any, where: str) -> Signal | None:
        row: Mapping[str, str] = record
        return self._build(
            where,
            review_id=_cell(row, "review id", "id"),
            title=_cell(row, "title", "review title") or "",
            love=_question(row, "what do you like best"),
            hate=_question(row, "what do you dislike"),
            recommendations=_question(row, "recommendations to others"),
            rating=_cell(row, "star rating", "rating", "stars"),
            company=_cell(row, "reviewer company", "company name", "company"),
            segment=_cell(row, "company segment", "segment", "market segment"),
            submitted=_cell(row, "submitted at", "submitted", "published at", "created at", "date"),
            updated=_cell(row, "updated at", "updated"),
            url=_cell(row, "url", "review url", "public url"),
            votes=_cell(row, "votes up", "helpful votes"),
        )

    # --- doctor -----------------------------------------------------------------------------------------------

    def probe_configured(self) -> bool:
        return self.config.api_token is not None and bool(self.config.api_token.get_secret_value())

    def incomplete(self) -> ProbeResult | None:
        if self.probe_configured() and not self.config.product_id:
            return ProbeResult(
                "product",
                False,
                "G2_API_TOKEN set but G2_PRODUCT_ID missing",
                "set G2_PRODUCT_ID to your product's UUID",
            )
        return None

    def probes(self) -> list[Probe]:
        path = f"/api/v2/products/{self.config.product_id}"
        return [Probe("auth + product", path, "check G2_API_TOKEN and G2_PRODUCT_ID")]

    # --- one review -------------------------------------------------------------------------------------------

    def _build(
        self,
        where: str,
        *,
        review_id: str | None,
        title: str,
        love: str,
        hate: str,
        recommendations: str,
        rating: Any,
        company: str | None,
        segment: str | None,
        submitted: Any,
        updated: Any,
        url: str | None,
        votes: Any,
    ) -> Signal | None:
        """The one place a review becomes a signal, so the API and the CSV cannot drift apart."""
        if not review_id:
            self.skip(where, "review has no id (`Review ID` / `id` is empty)")
            return None
        try:
            stars = _stars(rating, self.max_rating)
            created_at = parse_timestamp(submitted if submitted not in (None, "") else updated)
            updated_at = parse_timestamp(updated) if updated not in (None, "") else created_at
        except ValueError as exc:
            self.skip(where, f"review {review_id}: {exc}")
            return None
        updated_at = max(updated_at, created_at)
        sections = [
            (LOVE, html_to_text(love)),
            (HATE, html_to_text(hate)),
            (RECOMMENDATIONS, html_to_text(recommendations)),
        ]
        clean_title = first_line(html_to_text(title))
        body = "\n\n".join(f"{label}\n{answer}" for label, answer in sections if answer)
        text = "\n\n".join(part for part in (clean_title, body) if part)
        critique = " ".join(answer for label, answer in sections if label != LOVE)
        tags = list(guess_tags(clean_title, critique))
        tag = segment_tag(segment)
        if tag:
            tags.append(tag)
        return Signal(
            source=self.source,
            external_id=str(review_id),
            url=url or None,
            title=clean_title or first_line(body.split("\n", 1)[-1]) or f"G2 review {review_id}",
            text=text,
            customer=company or None,
            segment=None,
            kind_hint=guess_kind(clean_title, critique),
            votes=_int_or_none(votes),
            rating=stars,
            created_at=created_at,
            updated_at=updated_at,
            tags=tuple(tags),
        )


def _stars(value: Any, maximum: float) -> float | None:
    """A star rating between 0.5 and `maximum`; None when absent; ValueError when unreadable or out of range."""
    if value is None or value == "":
        return None
    try:
        stars = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"star rating {value!r} is not a number (expected 0.5 to {maximum:g})") from None
    if not 0 < stars <= maximum:
        raise ValueError(f"star rating {value!r} is out of range (expected 0.5 to {maximum:g})")
    return stars


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _cell(row: Mapping[str, str], *names: str) -> str | None:
    """The first non-empty cell whose header is exactly one of `names`."""
    return next((row[name] for name in names if row.get(name)), None)


def _question(row: Mapping[str, str], question: str) -> str:
    """A question's answer; G2 names the product in the header ("what do you like best about <product>")."""
    return next((value for key, value in row.items() if (key == question or key.startswith(question + " "))), "")


def _answer(answers: Mapping[str, Any], attrs: Mapping[str, Any], key: str) -> str:
    """`comment_answers.love.value` (G2's shape), a plain string there, or a flat attribute."""
    value = answers.get(key, attrs.get(key))
    if isinstance(value, dict):
        value = value.get("value", value.get("text"))
    return _as_text(value)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(str(part) for part in value if isinstance(part, str | int | float))
    return ""


def _first_str(mapping: Any, *keys: str) -> str | None:
    if not isinstance(mapping, dict):
        return None
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _item_id(item: Any) -> str | None:
    if isinstance(item, dict) and isinstance(item.get("id"), str | int) and not isinstance(item.get("id"), bool):
        return str(item["id"]).strip() or None
    return None


def _included_by_key(included: Any) -> dict[tuple[str, str], Mapping[str, Any]]:
    """JSON:API `included` resources by (type, id), for the reviewer's company and segment."""
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    if isinstance(included, list):
        for resource in included:
            if isinstance(resource, dict) and isinstance(resource.get("attributes"), dict):
                out[(str(resource.get("type")), str(resource.get("id")))] = resource["attributes"]
    return out


def _reviewer(item: Mapping[str, Any], included: Mapping[tuple[str, str], Mapping[str, Any]]) -> Mapping[str, Any]:
    relationships = item.get("relationships")
    if not isinstance(relationships, dict):
        return {}
    for name in ("user", "reviewer", "author"):
        data = relationships.get(name, {}).get("data") if isinstance(relationships.get(name), dict) else None
        if isinstance(data, dict):
            return included.get((str(data.get("type")), str(data.get("id"))), {})
    return {}


__all__ = ["G2Config", "G2Connector", "segment_tag"]
