"""Paginators read the next token AND place it in the next request; `paginate` guards against loops."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.http import (
    JSONBodyPaginator,
    LinkHeaderPaginator,
    NextURLPaginator,
    PageRequest,
    PaginationLoopError,
    Paginator,
    QueryParamPaginator,
    WindowBudget,
    paginate,
)


def served(bodies: list[Any], headers: list[dict[str, str]] | None = None) -> tuple[list[PageRequest], Any]:
    sent: list[PageRequest] = []

    def send(request: PageRequest) -> tuple[httpx.Response, Any]:
        index = len(sent)
        sent.append(request)
        extra = (headers or [{}] * len(bodies))[index]
        return httpx.Response(200, headers=extra, request=httpx.Request("GET", "https://x.test/")), bodies[index]

    return sent, send


def test_query_param_drops_first_page_params_and_stops_at_end_of_stream() -> None:
    sent, send = served([{"after_cursor": "c1", "end_of_stream": False}, {"after_cursor": "c2", "end_of_stream": True}])
    paginator = QueryParamPaginator(("after_cursor",), ("end_of_stream",), param="cursor", drop=("start_time",))
    first = PageRequest("/tickets", params={"start_time": 5, "include": "users"})

    assert len(list(paginate(send, paginator, first, source="s"))) == 2
    assert sent[1].params == {"include": "users", "cursor": "c1"}


def test_json_body_places_the_cursor_in_the_body() -> None:
    sent, send = served([{"records": {"cursor": "k"}}, {"records": {}}])
    first = PageRequest("/calls", method="POST", json={"filter": {}})
    list(paginate(send, JSONBodyPaginator(("records", "cursor")), first, source="s"))
    assert sent[1] == PageRequest("/calls", method="POST", json={"filter": {}, "cursor": "k"})


def test_next_url_and_link_header_replace_the_request() -> None:
    sent, send = served([{"links": {"next": "https://x.test/p2"}}, {"links": {}}])
    list(paginate(send, NextURLPaginator(("links", "next")), PageRequest("/p", params={"a": 1}), source="s"))
    assert sent[1] == PageRequest("https://x.test/p2")

    sent, send = served([[], []], [{"link": '<https://x.test/p2>; rel="next"'}, {}])
    list(paginate(send, LinkHeaderPaginator(), PageRequest("/p", headers={"If-None-Match": "e"}), source="s"))
    assert sent[1] == PageRequest("https://x.test/p2")  # the ETag belongs to the first page only


def test_a_token_seen_twice_or_too_many_pages_stop_the_read() -> None:
    _, send = served([{"next": "same"}] * 3)
    with pytest.raises(PaginationLoopError, match="twice"):
        list(paginate(send, QueryParamPaginator(("next",)), PageRequest("/p"), source="s"))

    class Counting(Paginator):
        def next_token(self, response: httpx.Response, body: Any) -> str | None:
            return str(body["n"])

        def place(self, request: PageRequest, token: str) -> PageRequest:
            return request

    _, send = served([{"n": n} for n in range(5)])
    with pytest.raises(PaginationLoopError, match="more than 3 pages"):
        list(paginate(send, Counting(), PageRequest("/p"), source="s", max_pages=3))


def test_window_budget_waits_only_when_the_budget_is_spent() -> None:
    budget = WindowBudget()
    assert budget.wait_s({"x-ratelimit-remaining": "0", "x-ratelimit-reset-after": "1.5"}) == 1.5
    assert budget.wait_s({"x-ratelimit-remaining": "3", "x-ratelimit-reset-after": "1.5"}) is None
