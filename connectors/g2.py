"""G2: product reviews from the v2 reviews API (JSON:API) or G2's CSV export of reviews.

A review's text is its title plus the answers to G2's three open questions (what do you like best, what do
you dislike, recommendations to others); `star_rating` is the rating. G2 reports the reviewer's company
segment (Small-Business / Mid-Market / Enterprise), not an account we know, so it goes into `tags` as
`segment:small-business|mid-market|enterprise`; `customer` is the reviewer's company when G2 discloses it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx

from connectors.base import Connector
from connectors.http import (
    JSONPathPaginator,
    MalformedPayloadError,
    SourceConfigError,
    SourceHTTP,
    paginate,
    parse_json,
)
from connectors.signal import Signal, SourceName
from connectors.text import csv_records, first_line, guess_kind, guess_tags, html_to_text, parse_timestamp

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


class G2Connector(Connector):
    """G2 reviews of one product -> signals with the star rating and the reviewer's segment as a tag."""

    source = SourceName.G2
    enable_hint = "set G2_API_TOKEN and G2_PRODUCT_ID, or G2_EXPORT_PATH (G2's CSV export of reviews)"
    reviews_endpoint: ClassVar[str] = "/api/v2/products/{product_id}/reviews"
    page_size: ClassVar[int] = 100
    max_rating: ClassVar[float] = 5.0

    @property
    def export_path(self) -> Path | None:
        return self.settings.g2_export_path

    def api_configured(self) -> bool:
        token = self.settings.g2_api_token
        return token is not None and bool(token.get_secret_value()) and bool(self.settings.g2_product_id)

    def _http(self) -> SourceHTTP:
        token = self.settings.g2_api_token
        if token is None:
            raise SourceConfigError(self.source.value, "G2_API_TOKEN is not set")
        return SourceHTTP(
            source=self.source.value,
            base_url=self.settings.g2_api_url,
            headers={
                "Authorization": f"Bearer {token.get_secret_value()}",
                "Accept": "application/vnd.api+json",
            },
            setting_hint={
                401: "Check G2_API_TOKEN: G2 rejected it (create one under My Products > Integrations > API Tokens)",
                403: "The G2_API_TOKEN has no access to this product's reviews; check G2_PRODUCT_ID and the token",
                404: "Check G2_PRODUCT_ID (the product's UUID) and G2_API_URL",
            },
            transport=self.transport,
            sleep=self.sleep,
        )

    # --- live API ---------------------------------------------------------------------------------------------

    def read_api(self, since: datetime | None) -> Iterator[Signal]:
        """Every review updated at or after `since`, following `links.next` (the `page[after]` cursor)."""
        http = self._http()
        endpoint = self.reviews_endpoint.format(product_id=self.settings.g2_product_id)
        first_params: dict[str, str | int] = {"page[size]": self.page_size}
        if since is not None:
            # The filter is strict (`_gt`); one second earlier makes it a closed start. The upsert dedupes.
            first_params["filter[updated_at_gt]"] = (since - timedelta(seconds=1)).isoformat()

        def fetch(next_url: str | None) -> tuple[httpx.Response, Any]:
            if next_url is None:
                response = http.request("GET", endpoint, params=first_params)
            else:
                response = http.request("GET", next_url)
            body = parse_json(self.source.value, response)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise MalformedPayloadError(
                    self.source.value, f"{endpoint} returned no JSON:API `data` array (keys: {_keys(body)})"
                )
            return response, body

        try:
            for _, body in paginate(fetch, JSONPathPaginator(self.source.value, ("links", "next"))):
                included = _included_by_key(body.get("included"))
                for index, item in enumerate(body["data"]):
                    where = f"{self.settings.g2_api_url}{endpoint} review {_item_id(item) or f'#{index + 1}'}"
                    signal = self._api_review(item, included, where, since)
                    if signal is not None:
                        yield signal
        finally:
            self.calls += http.calls
            http.close()

    def _api_review(
        self, item: Any, included: Mapping[tuple[str, str], Mapping[str, Any]], where: str, since: datetime | None
    ) -> Signal | None:
        if not isinstance(item, dict) or not isinstance(item.get("attributes"), dict):
            self.skip(where, "expected a JSON:API resource with `attributes`")
            return None
        attrs: dict[str, Any] = item["attributes"]
        raw_answers = attrs.get("comment_answers")
        answers: dict[str, Any] = raw_answers if isinstance(raw_answers, dict) else {}
        reviewer = _reviewer(item, included)
        links = item.get("links") if isinstance(item.get("links"), dict) else {}
        url = _first_str(attrs, "public_url", "url", "review_url") or _first_str(links, "public", "html")
        return self._build(
            where,
            since,
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

    def read_export(self, since: datetime | None) -> Iterator[Signal]:
        """G2's CSV export of reviews: the header row names the columns; errors name the CSV line."""
        path = self.export_path
        if path is None:
            return
        if not path.is_file():
            raise SourceConfigError(self.source.value, f"G2_EXPORT_PATH={path} does not exist; fix or unset it")
        for line, row in csv_records(path):
            if "review id" not in row and "id" not in row:
                raise MalformedPayloadError(
                    self.source.value,
                    f"{path}: no `Review ID` column in the header; expected G2's review export "
                    "(Review ID, Title, Star Rating, What do you like best?, ..., Submitted At, Updated At, URL)",
                )
            signal = self._build(
                f"{path}:{line}",
                since,
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
            if signal is not None:
                yield signal

    # --- one review -------------------------------------------------------------------------------------------

    def _build(
        self,
        where: str,
        since: datetime | None,
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
        if since is not None and updated_at < since:
            return None
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


def _keys(body: Any) -> str:
    return ", ".join(sorted(map(str, body))) if isinstance(body, dict) else type(body).__name__


__all__ = ["G2Connector", "segment_tag"]
