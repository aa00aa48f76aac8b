"""`backlog serve`: the Notion webhook receiver, the PM's buttons and a small authenticated control API (FastAPI).

Notion's integration-webhook contract (developers.notion.com/reference/webhooks, .../webhooks-events-delivery):
- the first POST is `{"verification_token": "..."}`, unsigned: we log it with the instruction to paste it into
  Notion and set `NOTION_WEBHOOK_SECRET` to it;
- every later delivery carries `X-Notion-Signature: sha256=<hex HMAC-SHA256(raw body, verification_token)>`,
  checked in constant time before anything runs;
- events are signals only (we fetch the page), may be aggregated, arrive out of order and be retried
  (`attempt_number` 1-8, same event), and carry `authors`: events authored by this integration's own bot are
  dropped, or our own writes would rescore forever. Each (entity, timestamp) is handled once, and an event older
  than one already handled for its entity is skipped: the rescore reads the page as it is now anyway.

What each event does (scores are row-local, docs/priority.md, so no event needs a full rescore):
`page.created`, `page.properties_updated`, `page.undeleted`, `page.moved` -> rescore that page (run_score also
rewrites the row it is merged into when its evidence changed); `page.deleted` -> rescore the row it was merged
into, if any, else nothing; `data_source.schema_updated` (`database.schema_updated` on older subscriptions) ->
read the schema again (also when our own bot changed it: a `backlog init` elsewhere; a re-read writes nothing, so
it cannot loop). Pages of other data sources and other event types are ignored.

The response is immediate; the work runs in background threads (`jobs.py`). The event loop never waits on
Notion: the handler's own lookups (the bot's id, the database ids) run in a thread and /healthz touches nothing
but memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVar, cast

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from service.app.actions import MAX_BODY_BYTES, Runners, add_actions, read_body
from service.app.jobs import ALL_PAGES, RecentEvents, RescoreWorker, SyncRunner
from service.logging import Disclosed, get_logger
from service.settings import Settings

log = get_logger(__name__)

T = TypeVar("T")
RESCORE_EVENTS = frozenset({"page.created", "page.properties_updated", "page.undeleted", "page.moved"})
SCHEMA_EVENTS = frozenset({"data_source.schema_updated", "database.schema_updated"})

__all__ = ["ALL_PAGES", "MAX_BODY_BYTES", "EventDecision", "RescoreWorker", "ServiceHooks", "SyncRunner"]
__all__ += ["create_app", "decide_event", "sign", "signature_ok"]


def sign(secret: str, body: bytes) -> str:
    """The header value Notion sends: `sha256=<hex digest>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str | None, body: bytes, header: str | None) -> bool:
    """Constant-time check of `X-Notion-Signature`; False when either side is missing."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


Action = Literal["rescore", "deleted", "schema", "ignore"]


@dataclass
class EventDecision:
    """What to do with one webhook event: `action` on `page_id` (the entity), or ignore it for `reason`."""

    page_id: str | None
    reason: str
    action: Action = "rescore"

    @property
    def queued(self) -> bool:
        return self.action != "ignore"


def _ignore(reason: str) -> EventDecision:
    return EventDecision(None, reason, "ignore")


def decide_event(event: dict[str, Any], *, bot_user_id: str, database_ids: set[str]) -> EventDecision:
    """Pure: what an event asks of us (see the module docstring)."""
    kind = str(event.get("type", ""))
    ours = {_norm(d) for d in database_ids}
    entity = _entity(event)
    if kind in SCHEMA_EVENTS:  # even our own bot's: `backlog init` in another process may have changed it
        if _norm(str(entity.get("id") or "")) not in ours:
            return _ignore("schema of another data source")
        return EventDecision(None, "the schema changed: read it again", "schema")
    authors = event.get("authors") or []
    if authors and all(_norm(a.get("id", "")) == _norm(bot_user_id) for a in authors if isinstance(a, dict)):
        return _ignore("authored by this integration's own bot")
    return _decide_page(kind, entity, event.get("data"), ours)


def _decide_page(kind: str, entity: dict[str, Any], data: Any, ours: set[str]) -> EventDecision:
    entity_id = str(entity.get("id") or "")
    if entity.get("type") != "page" or not kind.startswith("page.") or not entity_id:
        return _ignore(f"event type {kind or '?'} on {entity.get('type', '?')} is not a page change")
    parent_id = _parent_id(data)
    if parent_id and _norm(parent_id) not in ours:
        return _ignore("page of another database")
    if kind == "page.deleted":
        return EventDecision(entity_id, "a candidate was deleted: rescore the row it was merged into", "deleted")
    if kind not in RESCORE_EVENTS:
        return _ignore(f"{kind} does not change a score")
    return EventDecision(entity_id, "page changed")


def _entity(event: dict[str, Any]) -> dict[str, Any]:
    entity = event.get("entity")
    return entity if isinstance(entity, dict) else {}


def _parent_id(data: Any) -> str | None:
    """The data source a page lives in: `data_source_id` (2025-09-03+) wins over the parent's own `id` (the
    database), so a page of another data source of the same database is not taken for ours."""
    parent = (data or {}).get("parent") if isinstance(data, dict) else None
    if not isinstance(parent, dict):
        return None
    value = parent.get("data_source_id") or parent.get("id") or parent.get("database_id")
    return str(value) if value else None


def _norm(value: str) -> str:
    return str(value).replace("-", "").lower()


def _dedupe_key(event: dict[str, Any]) -> str:
    return _norm(str(_entity(event).get("id") or ""))


def _timestamp(event: dict[str, Any]) -> str | None:
    value = event.get("timestamp")
    return str(value) if value else None


def _no_report(_sprint: int, _start: date | None) -> None:
    raise RuntimeError("plan sprint is not wired in this app")


@dataclass
class ServiceHooks:
    """What the app needs from the rest of the service, injected so tests can drive it without threads."""

    bot_user_id: Callable[[], str]
    database_ids: Callable[[], set[str]]
    run_sync: Callable[[], None]
    run_report: Callable[[int, date | None], None] = _no_report


class _Once:
    """Values the app asks Notion for once per process (the bot's user id, the database ids), thread-safe."""

    def __init__(self) -> None:
        self._values: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, key: str, fn: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._values:
                self._values[key] = fn()
            return cast(T, self._values[key])


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def create_app(settings: Settings, worker: RescoreWorker, hooks: ServiceHooks) -> FastAPI:
    """The HTTP app. `worker` is started by the caller (`backlog serve`) or driven by tests."""
    app = FastAPI(
        title="backlog",
        version="0.1.0",
        description="Rescoring on demand for the backlog-candidates Notion database, and the PM's buttons.",
    )
    runners = Runners(SyncRunner(hooks.run_sync), hooks.run_report)
    app.state.runners = runners  # `backlog serve` and tests can see what is running
    _add_health(app, worker, runners.sync)
    _add_notion_webhook(app, _secret(settings.notion_webhook_secret), worker, hooks)
    add_actions(app, _secret(settings.backlog_api_token), worker, runners)
    return app


def _add_health(app: FastAPI, worker: RescoreWorker, syncs: SyncRunner) -> None:
    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness/readiness: the process answers and its worker is alive. Memory only: never waits on Notion
        or on the worker, so a probe answers in milliseconds whatever a rescore or a sync is doing."""
        status = "ok" if worker.alive else "degraded"
        return {"status": status, "pending": worker.pending_count(), "sync": syncs.state}


def _add_notion_webhook(app: FastAPI, secret: str | None, worker: RescoreWorker, hooks: ServiceHooks) -> None:
    once = _Once()
    recent = RecentEvents()

    def decide_with_lookups(payload: dict[str, Any]) -> EventDecision:
        decision = decide_event(
            payload,
            bot_user_id=once.get("bot", hooks.bot_user_id),
            database_ids=once.get("db", hooks.database_ids),
        )
        if decision.queued:
            skipped = recent.check(_dedupe_key(payload), _timestamp(payload))
            if skipped:
                return _ignore(skipped)
        return decision

    @app.post("/webhooks/notion")
    async def notion_webhook(request: Request) -> JSONResponse:
        """Receive a Notion webhook delivery (see the module docstring for the contract)."""
        body = await read_body(request)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = None
        if isinstance(payload, dict) and set(payload) == {"verification_token"}:
            _log_verification(str(payload["verification_token"]), secret)
            return JSONResponse({"ok": True, "verification": "received"})
        _check_signature(secret, body, request.headers.get("x-notion-signature"))
        if not isinstance(payload, dict):
            raise HTTPException(400, "body is not a JSON object")
        # The lookups may call Notion (and wait for a rescore holding the gateway): never on the event loop.
        decision = await run_in_threadpool(decide_with_lookups, payload)
        log.info(
            "webhook.event",
            type=payload.get("type"),
            event_id=payload.get("id"),
            attempt=payload.get("attempt_number"),
            page_id=decision.page_id,
            action=decision.action,
            reason=decision.reason,
        )
        _submit(worker, decision)
        return JSONResponse({"ok": True, "queued": decision.queued, "reason": decision.reason})


def _submit(worker: RescoreWorker, decision: EventDecision) -> None:
    if decision.action == "schema":
        worker.submit_schema()
    elif decision.action == "deleted" and decision.page_id:
        worker.submit_deleted(decision.page_id)
    elif decision.action == "rescore" and decision.page_id:
        worker.submit(decision.page_id)


def _log_verification(token: str, secret: str | None) -> None:
    """Notion's first, unsigned POST: the operator must read the token here, once, during setup."""
    if secret and hmac.compare_digest(token.encode(), secret.encode()):
        log.info("webhook.verification_repeated", note="NOTION_WEBHOOK_SECRET already matches")
        return
    # Notion shows this token nowhere else.
    log.warning(
        "webhook.verification_token_received",
        verification_token=Disclosed(token),
        instruction="Paste this token into Notion (integration settings > Webhooks > Verify) and set "
        "NOTION_WEBHOOK_SECRET to the same value, then restart `backlog serve`.",
    )


def _check_signature(secret: str | None, body: bytes, header: str | None) -> None:
    if signature_ok(secret, body, header):
        return
    if not secret:
        log.error("webhook.no_secret", fix="set NOTION_WEBHOOK_SECRET to the subscription's verification_token")
    else:
        log.warning("webhook.bad_signature")
    raise HTTPException(401, "missing or invalid X-Notion-Signature")
