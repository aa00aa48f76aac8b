"""The fault transport itself: scripted and seeded faults, writes that land with a lost answer, short pages."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import pytest

from tests.fakes.faults import FaultyNotion, FaultyTransport, lost_answer, rate_limited, server_error, timeout
from tests.service.notion.support import T0, TOKEN

PAGE = {"parent": {"page_id": ""}, "properties": {"title": {"title": [{"text": {"content": "x"}}]}}}


def _client(notion: FaultyNotion) -> httpx.Client:
    headers = {"authorization": f"Bearer {TOKEN}", "Notion-Version": "2025-09-03"}
    return httpx.Client(transport=notion.transport, base_url="https://api.notion.test/v1/", headers=headers)


def _children(notion: FaultyNotion) -> list[str]:
    answer = notion.api("GET", f"blocks/{notion.sandbox.root_page_id}/children")
    return [block["id"] for block in answer["results"]]


@pytest.fixture
def notion(tmp_path: Path) -> FaultyNotion:
    return FaultyNotion.open(tmp_path / "faults.sqlite3", token=TOKEN, start=T0)


def test_scripted_faults_hit_the_next_matching_requests_only(notion: FaultyNotion) -> None:
    notion.transport.fail("GET", "users/me", rate_limited(7), times=2)
    with _client(notion) as client:
        first, second, third = (client.get("users/me") for _ in range(3))
        other = client.get("users")
    assert (first.status_code, first.headers["Retry-After"], second.status_code) == (429, "7", 429)
    assert (third.status_code, other.status_code) == (200, 200)
    assert [fault for _, _, fault in notion.transport.faults()] == ["429", "429"]


def test_a_lost_answer_means_the_write_landed(notion: FaultyNotion) -> None:
    body = {**PAGE, "parent": {"page_id": notion.sandbox.root_page_id}}
    notion.transport.fail("POST", "pages", lost_answer(502))
    notion.transport.fail("POST", "pages", timeout(applied=True))
    notion.transport.fail("POST", "pages", server_error(500))  # refused before any work
    with _client(notion) as client:
        assert client.post("pages", json=body).status_code == 502
        with pytest.raises(httpx.ReadTimeout):
            client.post("pages", json=body)
        assert client.post("pages", json=body).status_code == 500
    assert len(_children(notion)) == 2


def test_seeded_faults_repeat_exactly_and_never_more_than_two_in_a_row(tmp_path: Path) -> None:
    def run(name: str, seed: int) -> FaultyTransport:
        notion = FaultyNotion.open(tmp_path / f"{name}.sqlite3", token=TOKEN, start=T0, seed=seed, rate=0.5)
        with _client(notion) as client:
            for _ in range(40):
                with contextlib.suppress(httpx.TransportError):
                    client.get("users/me")
        notion.close()
        return notion.transport

    first, again, other = run("a", 7), run("b", 7), run("c", 8)
    assert first.faults() == again.faults()
    assert first.faults() != other.faults()
    assert 0 < len(first.faults()) < 40
    marks = "".join("x" if seen.fault else "." for seen in first.requests)
    assert "xxx" not in marks  # max_in_a_row=2: a client retrying three times always gets through


def test_page_size_is_capped_for_short_pages(notion: FaultyNotion) -> None:
    for _ in range(3):
        notion.api("POST", "pages", {**PAGE, "parent": {"page_id": notion.sandbox.root_page_id}})
    notion.transport.page_size = 2
    with _client(notion) as client:
        listed = client.get(f"blocks/{notion.sandbox.root_page_id}/children", params={"page_size": 100}).json()
        searched = client.post("search", json={"page_size": 100}).json()
    assert (len(listed["results"]), listed["has_more"]) == (2, True)
    assert (len(searched["results"]), searched["has_more"]) == (2, True)
