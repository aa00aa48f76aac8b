"""The PM's buttons: `backlog serve`'s action endpoints for Notion's "Send webhook" action, and the older
`POST /rescore` / `POST /sync` control API they share their code with.

Notion's buttons, database buttons and database automations can "Send webhook" (paid plans): a POST with no
signature and optional custom headers, whose JSON body carries the page the button was pressed on (or the row an
automation ran for) in `data`, with its properties (notion.com/help/webhook-actions). An automation pauses after
a failed delivery until someone resumes it, so these endpoints:
- authenticate with a secret header only (`Authorization: Bearer $BACKLOG_API_TOKEN` or
  `X-Backlog-Token: $BACKLOG_API_TOKEN`, compared in constant time; nothing of it is ever logged);
- read the payload leniently (any JSON, or none: a button means "do it");
- answer 202 within milliseconds: the work runs in the background (`jobs.py`), coalesced, so a second press
  while one is pending does not queue another, and a retried delivery of one press is handled once.

| Endpoint | Does |
|---|---|
| `POST /actions/sync` | sync every source, then rescore (like `backlog run`) |
| `POST /actions/rescore` | rescore the row the button was pressed on; anywhere else, the whole backlog |
| `POST /actions/report` | plan sprint N (`?sprint=N` or header `X-Backlog-Sprint: N`; `&start=YYYY-MM-DD`) |
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from service.app.jobs import ALL_PAGES, LatestRunner, RecentEvents, RescoreWorker, SyncRunner
from service.logging import get_logger

log = get_logger(__name__)

MAX_BODY_BYTES = 256 * 1024  # Notion's payloads are small; anything bigger is not from Notion
TOKEN_HEADER = "X-Backlog-Token"  # noqa: S105 - a header name, not a secret
SPRINT_HEADER = "X-Backlog-Sprint"
MAX_SPRINT = 9999
ACTIONS = ("sync", "rescore", "report")


async def read_body(request: Request) -> bytes:
    """The raw body, refused past MAX_BODY_BYTES whatever the header says."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
    return body


# ---------------------------------------------------------------------------------------------- authentication
def given_tokens(headers: Mapping[str, str]) -> list[str]:
    """The secrets a request presents: a Bearer token and/or the X-Backlog-Token header."""
    tokens: list[str] = []
    authorization = headers.get("authorization", "").strip()
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        tokens.append(value.strip())
    if headers.get(TOKEN_HEADER.lower(), "").strip():
        tokens.append(headers[TOKEN_HEADER.lower()].strip())
    return tokens


def token_ok(expected: str, headers: Mapping[str, str]) -> bool:
    """Constant-time: does any presented secret equal `expected`?"""
    matches = [hmac.compare_digest(given.encode(), expected.encode()) for given in given_tokens(headers)]
    return any(matches)


def require_token(api_token: str | None, request: Request, action: str) -> None:
    if not api_token:
        log.error("actions.no_token", action=action, fix="set BACKLOG_API_TOKEN on the server")
        raise HTTPException(503, "BACKLOG_API_TOKEN is not set on the server; set it to enable this endpoint")
    if not token_ok(api_token, request.headers):
        presented = [name for name in ("authorization", TOKEN_HEADER.lower()) if name in request.headers]
        log.warning("actions.unauthorized", action=action, headers_presented=presented or ["none"])
        raise HTTPException(
            401, f"missing or wrong token: send `Authorization: Bearer <BACKLOG_API_TOKEN>` or `{TOKEN_HEADER}`"
        )


# ---------------------------------------------------------------------------------------------- the payload
@dataclass(frozen=True)
class ButtonPress:
    """What a Send-webhook payload (or a plain API call) says, read leniently."""

    page_id: str | None = None  # the page the button was pressed on / the row of the automation
    parents: frozenset[str] = frozenset()  # that page's parent ids; empty = an explicit page_id, trusted
    event_id: str | None = None  # one press, stable across Notion's retries of it (when Notion sends one)
    attempt: Any = None
    sprint: Any = None  # a Sprint property on the page, when there is one


def parse_press(payload: Any) -> ButtonPress:
    """Pure. Accepts Notion's `{"source": {...}, "data": {page object}}`, `{"page_id": ...}`, or anything."""
    if not isinstance(payload, dict):
        return ButtonPress()
    source = _dict(payload.get("source"))
    event_id = source.get("event_id") or source.get("id") or payload.get("event_id")
    event = str(event_id) if event_id else None
    if payload.get("page_id"):
        return ButtonPress(str(payload["page_id"]), frozenset(), event, source.get("attempt"), payload.get("sprint"))
    data = _dict(payload.get("data"))
    page_id = data.get("id") if data.get("object", "page") == "page" else None
    return ButtonPress(
        page_id=str(page_id) if page_id else None,
        parents=_parents(data.get("parent")) if page_id else frozenset(),
        event_id=event,
        attempt=source.get("attempt"),
        sprint=payload.get("sprint") or _number_of(_dict(data.get("properties")).get("Sprint")),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _parents(parent: Any) -> frozenset[str]:
    """The data source a page lives in (preferred: a database can hold several), else whatever its parent is;
    a page with no readable parent gets a marker that matches no database (so: rescore everything)."""
    if not isinstance(parent, dict):
        return frozenset({"unknown-parent"})
    if parent.get("data_source_id"):
        return frozenset({str(parent["data_source_id"])})
    for key in ("database_id", "page_id", "block_id", "id"):
        if parent.get(key):
            return frozenset({str(parent[key])})
    return frozenset({str(parent.get("type") or "unknown-parent")})


def _number_of(prop: Any) -> Any:
    """A Sprint property's value as Notion sends it (number, select or text), or None."""
    if not isinstance(prop, dict):
        return prop
    kind = prop.get("type")
    value = prop.get(kind) if isinstance(kind, str) else None
    if isinstance(value, dict):  # select / status / formula
        return value.get("name") or value.get("number") or value.get("string")
    if isinstance(value, list):  # rich text
        return "".join(str(part.get("plain_text", "")) for part in value if isinstance(part, dict)) or None
    return value


def sprint_number(*candidates: Any) -> int:
    """The first candidate that is a sprint number, or a 400 that says where to put one."""
    for value in candidates:
        if value is None or value == "":
            continue
        try:
            number = int(float(str(value).strip()))
        except ValueError:
            number = 0
        if 1 <= number <= MAX_SPRINT:
            return number
        raise HTTPException(400, f"sprint {value!r} is not a number from 1 to {MAX_SPRINT}")
    raise HTTPException(
        400, f"plan sprint needs the sprint number: end the button's URL with ?sprint=N or add {SPRINT_HEADER}: N"
    )


def start_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"start {value!r} is not a date; use ?start=YYYY-MM-DD") from None


# ---------------------------------------------------------------------------------------------- the routes
class Runners:
    """The coalesced background jobs behind the buttons (the rescore worker is passed separately)."""

    def __init__(self, sync: SyncRunner, run_report: Callable[[int, date | None], None]) -> None:
        self.sync = sync
        self.report: LatestRunner[tuple[int, date | None]] = LatestRunner(lambda a: run_report(*a), name="report")


class _Actions:
    """The handlers; one instance per app (its memory of accepted presses is per process)."""

    def __init__(self, api_token: str | None, worker: RescoreWorker, runners: Runners) -> None:
        self.api_token = api_token
        self.worker = worker
        self.runners = runners
        self.recent = RecentEvents()

    async def pressed(self, request: Request, action: str) -> ButtonPress:
        """Authenticate, then read the payload."""
        require_token(self.api_token, request, action)
        body = await read_body(request)
        try:
            press = parse_press(json.loads(body) if body.strip() else {})
        except ValueError:
            press = ButtonPress()
        if query_page := request.query_params.get("page_id"):
            press = ButtonPress(query_page, frozenset(), press.event_id, press.attempt, press.sprint)
        return press

    def first_time(self, action: str, press: ButtonPress) -> bool:
        """False for a retried delivery of a press already accepted (Notion's event id, when it sends one)."""
        if press.event_id and self.recent.check(f"{action}:{press.event_id}", "accepted"):
            log.info("actions.duplicate", action=action, event_id=press.event_id, attempt=press.attempt)
            return False
        return True

    @staticmethod
    def answer(action: str, outcome: str, press: ButtonPress, **extra: Any) -> JSONResponse:
        log.info("actions.accepted", action=action, outcome=outcome, event_id=press.event_id, **extra)
        return JSONResponse({"accepted": True, "action": action, "outcome": outcome, **extra}, status_code=202)

    async def sync(self, request: Request) -> JSONResponse:
        """Sync every source in the background, then rescore. Coalesced: while one runs, one more is queued and
        further presses join it (`outcome`: started, queued, coalesced, or duplicate for a retried press)."""
        press = await self.pressed(request, "sync")
        outcome = self.runners.sync.request() if self.first_time("sync", press) else "duplicate"
        return self.answer("sync", outcome, press, sync=outcome, started=outcome == "started")

    async def rescore(self, request: Request) -> JSONResponse:
        """Rescore the row the button was pressed on (`{"page_id": ...}` for an API call); pressed anywhere else,
        or with no page, the whole backlog. Coalesced with every other pending rescore."""
        press = await self.pressed(request, "rescore")
        if not self.first_time("rescore", press):
            return self.answer("rescore", "duplicate", press)
        if press.page_id:
            self.worker.submit_claimed(press.page_id, press.parents)
        else:
            self.worker.submit(ALL_PAGES)
        return self.answer("rescore", "queued", press, queued=press.page_id or "all")

    async def report(self, request: Request) -> JSONResponse:
        """Plan sprint N and write its page (`backlog report --sprint N`) in the background. Coalesced."""
        press = await self.pressed(request, "report")
        params = request.query_params
        sprint = sprint_number(params.get("sprint"), request.headers.get(SPRINT_HEADER), press.sprint)
        start = start_date(params.get("start"))
        outcome = self.runners.report.request((sprint, start)) if self.first_time("report", press) else "duplicate"
        return self.answer("report", outcome, press, sprint=sprint)


def add_actions(app: FastAPI, api_token: str | None, worker: RescoreWorker, runners: Runners) -> None:
    """The button endpoints, and POST /sync and POST /rescore (the same handlers under their older names)."""
    actions = _Actions(api_token, worker, runners)
    for path, handler in (
        ("/actions/sync", actions.sync),
        ("/actions/rescore", actions.rescore),
        ("/actions/report", actions.report),
    ):
        app.post(path, status_code=202, tags=["buttons"])(handler)
    app.post("/sync", status_code=202, tags=["control"])(actions.sync)
    app.post("/rescore", status_code=202, tags=["control"])(actions.rescore)
