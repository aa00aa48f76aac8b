"""G2 connector: JSON:API reviews (links.next cursor, updated_at filter), errors, and the CSV export."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from connectors.g2 import G2Connector, segment_tag
from connectors.http import MalformedPayloadError, SourceAuthError, SourceConfigError, SourceUnavailableError
from connectors.signal import KindHint
from service.settings import Settings
from tests import REPO_ROOT

DEMO = REPO_ROOT / "deploy" / "demo" / "g2_reviews.csv"
API = "https://data.g2.com"
PRODUCT = "2f1c9a3e-0d4b-4a57-9f61-1b2c3d4e5f60"
HEADER = [
    "Review ID", "Title", "Star Rating", "What do you like best about Wavelength?", "What do you dislike?",
    "Recommendations to others", "Reviewer Company", "Company Segment", "Submitted At", "Updated At", "URL",
]  # fmt: skip


def review(review_id: str, **attrs: Any) -> dict[str, Any]:
    """A review resource in G2's JSON:API shape."""
    attributes: dict[str, Any] = {
        "product_name": "Wavelength Voice Agents",
        "is_public": True,
        "star_rating": 4.5,
        "title": "Great voices, slow first response",
        "comment_answers": {
            "love": {"text": "What do you like best?", "value": "Natural voices, easy SDK."},
            "hate": {"text": "What do you dislike?", "value": "First response takes over a second."},
            "recommendations": {"text": "Recommendations to others", "value": "Test latency early."},
        },
        "votes_up": 3,
        "company_segment": "Mid-Market(51-1000 emp.)",
        "submitted_at": "2026-11-05T10:00:00.000-05:00",
        "updated_at": "2026-11-06T10:00:00.000-05:00",
        "public_url": f"https://www.g2.com/survey_responses/wavelength-review-{review_id}",
    }
    attributes.update(attrs)
    return {"id": review_id, "type": "reviews", "attributes": attributes}


def make(**settings: Any) -> tuple[G2Connector, list[float]]:
    values: dict[str, Any] = {"g2_api_token": "g2-secret-token", "g2_product_id": PRODUCT}
    values.update(settings)
    sleeps: list[float] = []
    return G2Connector(Settings(**values).g2_config(), sleep=sleeps.append), sleeps


def test_pages_follow_links_next_to_the_end(httpx_mock: HTTPXMock) -> None:
    next_url = f"{API}/api/v2/products/{PRODUCT}/reviews?page%5Bafter%5D=abc&page%5Bsize%5D=100"
    httpx_mock.add_response(json={"data": [review("r1")], "links": {"next": next_url}, "meta": {}})
    httpx_mock.add_response(json={"data": [review("r2")], "links": {"next": None}, "meta": {}})
    connector, _ = make()

    signals = list(connector.read_api(datetime(2026, 11, 1, tzinfo=UTC)))

    assert [s.external_id for s in signals] == ["r1", "r2"]
    first, second = httpx_mock.get_requests()
    assert first.url.path == f"/api/v2/products/{PRODUCT}/reviews"
    assert first.url.params["page[size]"] == "100"
    assert first.url.params["filter[updated_at_gt]"].startswith("2026-10-31T23:59:59")  # closed start
    assert first.headers["Authorization"] == "Bearer g2-secret-token"
    assert second.url.params["page[after]"] == "abc"
    assert connector.calls == 2


def test_review_fields_become_a_signal(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"data": [review("r1")], "links": {}})
    (signal,) = make()[0].read_api(None)
    assert signal.rating == 4.5
    assert signal.title == "Great voices, slow first response"
    assert "What do you dislike?\nFirst response takes over a second." in signal.text
    assert signal.text.startswith("Great voices")
    assert signal.url == "https://www.g2.com/survey_responses/wavelength-review-r1"
    assert signal.tags == ("segment:mid-market",)
    assert signal.votes == 3
    assert signal.segment is None
    assert signal.created_at == datetime(2026, 11, 5, 15, 0, tzinfo=UTC)


def test_bug_words_only_count_in_the_critique(httpx_mock: HTTPXMock) -> None:
    answers = {"love": {"value": "No bugs, never crashes"}, "hate": {"value": "Pricing"}}
    httpx_mock.add_response(json={"data": [review("ok", comment_answers=answers)], "links": {}})
    answers_bug = {"love": {"value": "Voices"}, "hate": {"value": "The SDK crashes on reconnect"}}
    httpx_mock.add_response(json={"data": [review("bug", comment_answers=answers_bug)], "links": {}})
    assert next(iter(make()[0].read_api(None))).kind_hint is KindHint.FEATURE
    assert next(iter(make()[0].read_api(None))).kind_hint is KindHint.BUG


def test_reviewer_company_and_segment_from_included_user(httpx_mock: HTTPXMock) -> None:
    item = review("r9", company_segment=None)
    item["relationships"] = {"user": {"data": {"type": "users", "id": "u1"}}}
    user = {"company_name": "Globex Bank", "company_segment": "Enterprise(> 1000 emp.)"}
    included = [{"type": "users", "id": "u1", "attributes": user}]
    httpx_mock.add_response(json={"data": [item], "included": included, "links": {}})
    (signal,) = make()[0].read_api(None)
    assert signal.customer == "Globex Bank"
    assert signal.tags == ("segment:enterprise",)


def test_bad_review_in_a_page_is_skipped_and_named(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"data": [review("bad", star_rating="lots"), review("good")], "links": {}})
    connector, _ = make()
    assert [s.external_id for s in connector.read_api(None)] == ["good"]
    (problem,) = connector.problems
    assert problem.where.endswith("review bad")
    assert "star rating 'lots'" in problem.message


def test_429_honours_retry_after(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "42"})
    httpx_mock.add_response(json={"data": [review("r1")], "links": {}})
    connector, sleeps = make()
    assert [s.external_id for s in connector.read_api(None)] == ["r1"]
    assert sleeps == [42.0]


def test_5xx_then_success_and_5xx_forever_is_unavailable(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=502)
    httpx_mock.add_response(json={"data": [review("r1")], "links": {}})
    connector, sleeps = make()
    assert [s.external_id for s in connector.read_api(None)] == ["r1"]
    assert len(sleeps) == 1

    httpx_mock.add_response(status_code=500, is_reusable=True)
    with pytest.raises(SourceUnavailableError, match="attempts"):
        list(make()[0].read_api(None))


def test_401_names_the_token_setting_without_leaking_it(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=401, json={"errors": [{"title": "Unauthorized"}]})
    with pytest.raises(SourceAuthError) as error:
        list(make()[0].read_api(None))
    assert "G2_API_TOKEN" in str(error.value)
    assert "g2-secret-token" not in str(error.value)


def test_payload_without_data_is_malformed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"reviews": []})
    with pytest.raises(MalformedPayloadError, match="data"):
        list(make()[0].read_api(None))


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


def row(review_id: str, stars: str = "4", submitted: str = "2026-11-04T12:00:00Z", **kw: str) -> list[str]:
    return [
        review_id, kw.get("title", "Needs Salesforce"), stars, "Voices", kw.get("hate", "No Salesforce sync.\nAt all."),
        "Ask for the roadmap", kw.get("company", ""), kw.get("segment", "Enterprise(> 1000 emp.)"), submitted,
        kw.get("updated", ""), f"https://www.g2.com/survey_responses/{review_id}",
    ]  # fmt: skip


def test_export_csv_reports_the_bad_line_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    # Every row spans two lines (a multi-line answer): rows start on lines 2, 4, 6, 8.
    write_csv(path, [row("1"), row("2", stars="five"), row("3", submitted="someday"), row("4", company="Hooli")])
    connector, _ = make(g2_api_token=None, g2_export_path=path)

    signals = list(connector.read_export(None))

    assert [s.external_id for s in signals] == ["1", "4"]
    assert [p.where for p in connector.problems] == [f"{path}:4", f"{path}:6"]
    assert "star rating 'five'" in connector.problems[0].message
    assert "someday" in connector.problems[1].message
    assert signals[1].customer == "Hooli"
    assert signals[0].rating == 4.0
    assert signals[0].updated_at == signals[0].created_at  # no Updated At: the submission time
    assert "What do you like best?\nVoices" in signals[0].text


def test_export_since_filter_uses_updated_at(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    write_csv(path, [row("old", submitted="2026-10-01T00:00:00Z"), row("new", submitted="2026-11-10T00:00:00Z")])
    connector, _ = make(g2_export_path=path)
    assert [s.external_id for s in connector.read_export(datetime(2026, 11, 1, tzinfo=UTC))] == ["new"]


def test_export_without_review_id_column_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text("Title,Stars\nHello,4\n")
    with pytest.raises(MalformedPayloadError, match="Review ID"):
        list(make(g2_export_path=path)[0].read_export(None))


def test_missing_export_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match="G2_EXPORT_PATH"):
        list(make(g2_export_path=tmp_path / "missing.csv")[0].read_export(None))


def test_segment_tag_normalises_g2_labels() -> None:
    assert segment_tag("Small-Business(50 or fewer emp.)") == "segment:small-business"
    assert segment_tag("Mid Market") == "segment:mid-market"
    assert segment_tag("Unknown") is None


def test_demo_export_has_exactly_one_malformed_row() -> None:
    connector, _ = make(g2_api_token=None, g2_export_path=DEMO)
    signals = list(connector.read_export(None))
    assert len(connector.problems) == 1
    assert connector.problems[0].where.startswith(f"{DEMO}:")
    assert 8 <= len(signals) <= 16
    assert all(s.rating is not None for s in signals)
