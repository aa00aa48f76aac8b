"""Paginators: each reads the next page's token from a response AND places it in the next request.

A paginator is a stateless strategy (so a connector declares one as a class attribute); `paginate` drives it
and owns the loop guard: a token seen twice, or more pages than any real answer has, stops the read with a
`PaginationLoopError` instead of looping forever.

    QueryParamPaginator   token -> a query parameter (Zendesk `cursor`, Discord `after` / `before`)
    JSONBodyPaginator     token -> a key path in the JSON body (Gong `cursor`)
    NextURLPaginator      the body names the next URL (G2 `links.next`)
    LinkHeaderPaginator   RFC 8288 `Link: <...>; rel="next"` (GitHub)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from connectors.http.errors import PaginationLoopError


@dataclass(frozen=True)
class PageRequest:
    """One page's request, as data: what the paginator rewrites for the next page."""

    url: str
    method: str = "GET"
    params: Mapping[str, str | int] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `SourceHTTP.request` (only the parts that are set)."""
        out: dict[str, Any] = {}
        if self.params:
            out["params"] = dict(self.params)
        if self.json is not None:
            out["json"] = self.json
        if self.headers:
            out["headers"] = dict(self.headers)
        return out


def dig(body: Any, path: tuple[str, ...]) -> Any:
    """`body[path[0]][path[1]]...`, None as soon as a level is not an object."""
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


@dataclass(frozen=True)
class Paginator:
    """Base: `token_path` finds the token in the body; `stop_when` is a boolean key path that ends the stream."""

    token_path: tuple[str, ...] = ()
    stop_when: tuple[str, ...] | None = None

    def next_token(self, response: httpx.Response, body: Any) -> str | None:
        if self.stop_when is not None and dig(body, self.stop_when) is True:
            return None
        value = dig(body, self.token_path)
        return str(value) if value not in (None, "") else None

    def place(self, request: PageRequest, token: str) -> PageRequest:
        raise NotImplementedError


@dataclass(frozen=True)
class QueryParamPaginator(Paginator):
    """The token goes into `param`; `drop` names first-page-only parameters (Zendesk's `start_time`)."""

    param: str = "cursor"
    drop: tuple[str, ...] = ()

    def place(self, request: PageRequest, token: str) -> PageRequest:
        params = {k: v for k, v in request.params.items() if k not in self.drop}
        return replace(request, params={**params, self.param: token})


@dataclass(frozen=True)
class JSONBodyPaginator(Paginator):
    """The token goes into the JSON body at `body_key` (a top-level key)."""

    body_key: str = "cursor"

    def place(self, request: PageRequest, token: str) -> PageRequest:
        body = dict(request.json) if isinstance(request.json, dict) else {}
        return replace(request, json={**body, self.body_key: token})


@dataclass(frozen=True)
class NextURLPaginator(Paginator):
    """The token IS the next URL (its query included): the next request is a plain GET of it."""

    def place(self, request: PageRequest, token: str) -> PageRequest:
        return PageRequest(url=token, method=request.method)


@dataclass(frozen=True)
class LinkHeaderPaginator(NextURLPaginator):
    """RFC 8288 `Link: <...>; rel="next"` (GitHub). The token is the absolute next URL."""

    def next_token(self, response: httpx.Response, body: Any) -> str | None:
        link = response.links.get("next")
        return link.get("url") if link else None


Send = Callable[[PageRequest], tuple[httpx.Response, Any]]


def paginate(
    send: Send, paginator: Paginator, first: PageRequest, *, source: str, max_pages: int = 10_000
) -> Iterator[tuple[httpx.Response, Any]]:
    """Drive `send(request)` page after page until the paginator finds no token."""
    seen: set[str] = set()
    request = first
    for _ in range(max_pages):
        response, body = send(request)
        yield response, body
        token = paginator.next_token(response, body)
        if token is None:
            return
        if token in seen:
            raise PaginationLoopError(source, f"page token {token[:80]!r} was returned twice; stopping")
        seen.add(token)
        request = paginator.place(request, token)
    raise PaginationLoopError(source, f"more than {max_pages} pages; stopping")


__all__ = [
    "JSONBodyPaginator",
    "LinkHeaderPaginator",
    "NextURLPaginator",
    "PageRequest",
    "Paginator",
    "QueryParamPaginator",
    "dig",
    "paginate",
]
