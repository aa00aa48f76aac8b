"""`backlog serve`: the Notion webhook receiver and a small authenticated control API (FastAPI).

Notion's webhook contract (API 2025-09-03):
- the first POST is `{"verification_token": "..."}`, unsigned: we log it with the instruction to paste it into
  Notion and set `NOTION_WEBHOOK_SECRET` to it;
- every later delivery carries `X-Notion-Signature: sha256=<hex HMAC-SHA256(raw body, verification_token)>`,
  checked in constant time before anything runs;
- events are signals only (we fetch the page), may arrive in bursts and be retried (`attempt_number`), and carry
  `authors`: events authored by this integration's own bot are dropped, or our own writes would rescore forever.

The response is immediate; rescoring runs in one background worker that coalesces pending pages, so 50 events
for one page cost one rescore. The worker uses the gateway, so it shares the process-wide Notion rate limiter.
The event loop never waits on Notion: the handler's own lookups (the bot's id, the database ids) run in a
thread, /healthz touches nothing but memory, and POST /sync hands its work to one thread (`SyncRunner`), at
most one sync running and one waiting.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, SecretStr
from starlette.concurrency import run_in_threadpool

from service.logging import Disclosed, get_logger
from service.settings import Settings

log = get_logger(__name__)

T = TypeVar("T")
MAX_BODY_BYTES = 256 * 1024  # Notion events are small; anything bigger is not from Notion
ALL_PAGES = "*"


def sign(secret: str, body: bytes) -> str:
    """The header value Notion sends: `sha256=<hex digest>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str | None, body: bytes, header: str | None) -> bool:
    """Constant-time check of `X-Notion-Signature`; False when either side is missing."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


@dataclass
class EventDecision:
    """What to do with one webhook event: rescore `page_id`, or ignore it for `reason`."""

    page_id: str | None
    reason: str


def decide_event(event: dict[str, Any], *, bot_user_id: str, database_ids: set[str]) -> EventDecision:
    """Pure: which page (if any) an event asks us to rescore."""
    kind = str(event.get("type", ""))
    entity = event.get("entity") or {}
    authors = event.get("authors") or []
    if authors and all(_norm(a.get("id", "")) == _norm(bot_user_id) for a in authors if isinstance(a, dict)):
        return EventDecision(None, "authored by this integration's own bot")
    if entity.get("type") != "page" or not kind.startswith("page."):
        return EventDecision(None, f"event type {kind or '?'} on {entity.get('type', '?')} is not a page change")
    parent = (event.get("data") or {}).get("parent") or {}
    parent_id = parent.get("id") or parent.get("data_source_id") or parent.get("database_id")
    if parent_id and _norm(str(parent_id)) not in {_norm(d) for d in database_ids}:
        return EventDecision(None, "page of another database")
    if kind == "page.deleted":
        return EventDecision(ALL_PAGES, "a candidate was deleted: ranks shift")
    return EventDecision(str(entity.get("id")), "page changed")


def _norm(value: str) -> str:
    return value.replace("-", "").lower()


@dataclass
class RescoreWorker:
    """One background thread; `submit` is cheap and coalesces; `run_pending` does one rescore for all pending."""

    rescore: Callable[[str | None], None]  # page id, or None for everything
    debounce_s: float = 1.0
    rescores: int = 0
    _pending: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: queue.Queue[None] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def submit(self, page_id: str) -> None:
        with self._lock:
            self._pending.add(page_id)
        self._wake.put(None)

    def pending(self) -> set[str]:
        with self._lock:
            return set(self._pending)

    def run_pending(self) -> int:
        """Rescore once for everything pending; returns how many pages were pending."""
        with self._lock:
            pages, self._pending = self._pending, set()
        if not pages:
            return 0
        target = None if ALL_PAGES in pages or len(pages) > 1 else next(iter(pages))
        try:
            self.rescore(target)
            self.rescores += 1
            log.info("webhook.rescored", pages=len(pages), target=target or "all")
        except Exception as exc:  # noqa: BLE001 - the worker must survive any failure; it is logged
            log.error("webhook.rescore_failed", pages=len(pages), error=str(exc))
        return len(pages)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="rescore-worker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.put(None)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.get()
            if self._stop.wait(self.debounce_s):  # let a burst of events land, then rescore once
                return
            while not self._wake.empty():
                self._wake.get_nowait()
            self.run_pending()

    @property
    def alive(self) -> bool:
        return self._thread is None or self._thread.is_alive()


@dataclass
class SyncRunner:
    """POST /sync, coalesced and bounded: one sync runs in its own thread, at most one more waits for it, and any
    further request joins the waiting one (it would read the same sources a moment later)."""

    run: Callable[[], None]
    runs: int = 0
    _running: bool = False
    _pending: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self) -> str:
        """`started`, `queued` (runs after the current one) or `coalesced` (joined the queued one)."""
        with self._lock:
            if self._pending:
                return "coalesced"
            if self._running:
                self._pending = True
                return "queued"
            self._running = True
        threading.Thread(target=self._loop, name="sync", daemon=True).start()
        return "started"

    @property
    def state(self) -> dict[str, bool]:
        with self._lock:
            return {"running": self._running, "pending": self._pending}

    def _loop(self) -> None:
        while True:
            try:
                self.run()
                self.runs += 1
            except Exception as exc:  # noqa: BLE001 - the service must survive a failed sync; it is logged
                log.error("serve.sync_failed", error=str(exc))
            with self._lock:
                if not self._pending:
                    self._running = False
                    return
                self._pending = False


class RescoreRequest(BaseModel):
    page_id: str | None = None


@dataclass
class ServiceHooks:
    """What the app needs from the rest of the service, injected so tests can drive it without threads."""

    bot_user_id: Callable[[], str]
    database_ids: Callable[[], set[str]]
    run_sync: Callable[[], None]


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
        description="Rescoring on demand for the backlog-candidates Notion database.",
    )
    syncs = SyncRunner(hooks.run_sync)
    _add_health(app, worker, syncs)
    _add_notion_webhook(app, _secret(settings.notion_webhook_secret), worker, hooks)
    _add_control_api(app, _secret(settings.backlog_api_token), worker, syncs)
    return app


def _add_health(app: FastAPI, worker: RescoreWorker, syncs: SyncRunner) -> None:
    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness/readiness: the process answers and its worker is alive. Memory only: never waits on Notion
        or on the worker, so a probe answers in milliseconds whatever a rescore or a sync is doing."""
        status = "ok" if worker.alive else "degraded"
        return {"status": status, "pending": len(worker.pending()), "sync": syncs.state}


def _add_notion_webhook(app: FastAPI, secret: str | None, worker: RescoreWorker, hooks: ServiceHooks) -> None:
    once = _Once()

    def decide_with_lookups(payload: dict[str, Any]) -> EventDecision:
        return decide_event(
            payload,
            bot_user_id=once.get("bot", hooks.bot_user_id),
            database_ids=once.get("db", hooks.database_ids),
        )

    @app.post("/webhooks/notion")
    async def notion_webhook(request: Request) -> JSONResponse:
        """Receive a Notion webhook delivery (see the module docstring for the contract)."""
        body = await _read_body(request)
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
            reason=decision.reason,
        )
        if decision.page_id:
            worker.submit(decision.page_id)
        return JSONResponse({"ok": True, "queued": decision.page_id is not None, "reason": decision.reason})


async def _read_body(request: Request) -> bytes:
    """The raw body (the signature is over these bytes), refused past MAX_BODY_BYTES whatever the header says."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
    return body


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


def _add_control_api(app: FastAPI, api_token: str | None, worker: RescoreWorker, syncs: SyncRunner) -> None:
    def require_api_token(authorization: str | None) -> None:
        if not api_token:
            raise HTTPException(503, "BACKLOG_API_TOKEN is not set on the server; set it to enable this endpoint")
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), api_token.encode()):
            raise HTTPException(401, "missing or wrong bearer token (Authorization: Bearer $BACKLOG_API_TOKEN)")

    @app.post("/rescore", status_code=202)
    def rescore(body: RescoreRequest | None = None, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        """Queue a rescore of one page (`{"page_id": ...}`) or of the whole backlog (empty body)."""
        require_api_token(authorization)
        worker.submit(body.page_id if body and body.page_id else ALL_PAGES)
        return {"queued": body.page_id if body and body.page_id else "all"}

    @app.post("/sync", status_code=202)
    def sync(authorization: str | None = Header(default=None)) -> dict[str, Any]:
        """Start a sync of every configured source in the background (then a rescore). Coalesced: while one runs,
        one more is queued and further requests join it (`sync`: started, queued or coalesced)."""
        require_api_token(authorization)
        outcome = syncs.request()
        return {"started": outcome == "started", "sync": outcome}
