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
from connectors.text import describe_id, first_line, guess_kind, guess_tags, html_to_text, parse_id, parse_timestamp

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


# The CSV columns read, each with the header spellings accepted (compared lower case, punctuation ignored; an
# alias ending in "*" also matches any longer header, as G2 appends the product name to its questions).
# `docs/exports.md` shows this table: keep them in step.
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "review_id": ("Review ID", "ID", "Review Id", "attributes.id"),
    "title": ("Review Title", "Title", "attributes.title"),
    "star_rating": ("Star Rating", "Rating", "Stars", "attributes.star_rating"),
    "love": ("What do you like best*", "Love", "attributes.comment_answers.love.value"),
    "hate": ("What do you dislike*", "Hate", "attributes.comment_answers.hate.value"),
    "recommendations": ("Recommendations to others*", "attributes.comment_answers.recommendations.value"),
    "company": ("Company Name", "Reviewer Company", "Company", "attributes.company_name"),
    "segment": ("Company Segment", "Segment", "Market Segment", "attributes.company_segment"),
    "submitted_at": (
        "Submitted At", "Date Submitted", "Submitted", "Published At", "Created At", "Date", "attributes.submitted_at",
    ),
    "updated_at": ("Updated At", "Updated", "Last Updated", "attributes.updated_at"),
    "url": ("Review URL", "URL", "Review Link", "Public URL", "attributes.url"),
    "votes_up": ("Votes Up", "Helpful Votes", "Votes", "attributes.votes_up"),
}  # fmt: skip


def _accepted() -> str:
    return "; ".join(f"{name}: {' / '.join(aliases)}" for name, aliases in CSV_COLUMNS.items())


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
        # `include=user` side-loads the reviewer, whose company becomes the Customer.
        params: dict[str, str | int] = {"page[size]": self.page_size, "include": "user"}
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
        """G2's CSV export of reviews (any header spelling of `CSV_COLUMNS`); errors name the CSV line."""
        checked = False
        for where, row in export.csv_rows(CSV_COLUMNS):
            if not checked:
                checked = True
                missing = [name for name in ("review_id", "submitted_at") if name not in row]
                if "review_id" in missing or ("updated_at" not in row and missing):
                    raise export.malformed(f"no {' / '.join(missing)} column in the header; expected {_accepted()}", 1)
            yield where, row

    def export_signal(self, record: Any, where: str) -> Signal | None:
        row: Mapping[str, str] = record
        return self._build(
            where,
            review_id=row.get("review_id") or None,
            title=row.get("title", ""),
            love=row.get("love", ""),
            hate=row.get("hate", ""),
            recommendations=row.get("recommendations", ""),
            rating=row.get("star_rating"),
            company=row.get("company") or None,
            segment=row.get("segment") or None,
            submitted=row.get("submitted_at"),
            updated=row.get("updated_at"),
            url=row.get("url") or None,
            votes=row.get("votes_up"),
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
        if parse_id(review_id) is None:
            self.skip(where, f"review: {describe_id(review_id)}")
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
            votes=self.votes(votes, where),
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
