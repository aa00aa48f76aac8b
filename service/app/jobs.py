"""The background work of `backlog serve`: what the webhook and the PM's buttons ask for, done off the request.

A request only records what it wants (a few set operations under a lock) and answers; the work runs in one
thread per kind, coalesced: fifty events for one page cost one rescore, a second "sync now" while one is waiting
joins it. So a request never waits on Notion, and a Notion automation (which pauses after a failed delivery)
almost never sees a slow or failed answer.
"""

from __future__ import annotations

import gc
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from service.logging import get_logger

log = get_logger(__name__)

ALL_PAGES = "*"
A = TypeVar("A")


def _nothing() -> None:
    return None


def _no_target(_page_id: str) -> str | None:
    return None


def _any_parent(_parents: frozenset[str]) -> bool:
    return True


def settle_heap() -> None:
    """After a job, while nothing waits: collect its garbage now and freeze what survives (the rows `serve` keeps
    in memory), so a later job's collections walk only what that job made. Unfrozen, a full collection fell in
    the middle of the next rescore and walked every cached row: 0.4 s of a webhook's 2 s at 10,000 rows.
    Frozen objects are still freed by reference counting once unused; only reference cycles among them stay."""
    gc.collect()
    gc.freeze()


@dataclass(frozen=True)
class WorkerHooks:
    """What the worker may ask Notion, injected (the server passes the gateway's; tests pass fakes)."""

    forget_schema: Callable[[], None] = _nothing  # re-read the data source's schema
    merge_target: Callable[[str], str | None] = _no_target  # the row a (deleted) page was merged into
    is_ours: Callable[[frozenset[str]], bool] = _any_parent  # do these parent ids name the candidates database?
    warm: Callable[[], None] = _nothing  # read the rows once when the worker starts, before the first event


@dataclass
class _Batch:
    """Everything pending at one moment, taken at once."""

    pages: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    claimed: dict[str, frozenset[str]] = field(default_factory=dict)  # page from a button press -> its parents
    schema: bool = False

    @property
    def size(self) -> int:
        return len(self.pages) + len(self.deleted) + len(self.claimed) + int(self.schema)


@dataclass
class RescoreWorker:
    """One background thread; every `submit_*` is cheap and coalesces; `run_pending` does one rescore (at most)
    for everything pending: one page when one page is pending, the whole backlog when several are."""

    rescore: Callable[[str | None], None]  # page id, or None for everything
    debounce_s: float = 1.0
    hooks: WorkerHooks = field(default_factory=WorkerHooks)
    rescores: int = 0
    _batch: _Batch = field(default_factory=_Batch)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: queue.Queue[None] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def submit(self, page_id: str) -> None:
        """Rescore this page (or ALL_PAGES)."""
        with self._lock:
            self._batch.pages.add(page_id)
        self._wake.put(None)

    def submit_deleted(self, page_id: str) -> None:
        """A page went to the trash: rescore the row it was merged into, if any (scores are row-local)."""
        with self._lock:
            self._batch.deleted.add(page_id)
        self._wake.put(None)

    def submit_claimed(self, page_id: str, parents: frozenset[str]) -> None:
        """A button was pressed on `page_id`: rescore it if it is a candidate row, else the whole backlog."""
        with self._lock:
            self._batch.claimed[page_id] = parents
        self._wake.put(None)

    def submit_schema(self) -> None:
        """The data source's schema changed: read it again before the next rescore."""
        with self._lock:
            self._batch.schema = True
        self._wake.put(None)

    def pending(self) -> set[str]:
        """The pages waiting for a rescore (plain and button-pressed ones)."""
        with self._lock:
            return self._batch.pages | set(self._batch.claimed)

    def pending_count(self) -> int:
        with self._lock:
            return self._batch.size

    def run_pending(self) -> int:
        """Do the work for everything pending; returns how many requests it covered."""
        with self._lock:
            batch, self._batch = self._batch, _Batch()
        if not batch.size:
            return 0
        try:
            wanted, target = self._resolve(batch)
            if wanted:
                self.rescore(target)
                self.rescores += 1
                log.info("webhook.rescored", pages=batch.size, target=target or "all")
        except Exception as exc:  # noqa: BLE001 - the worker must survive any failure; it is logged
            log.error("webhook.rescore_failed", pages=batch.size, error=str(exc))
        return batch.size

    def _resolve(self, batch: _Batch) -> tuple[bool, str | None]:
        """(rescore at all?, which page: None for all). May call Notion through the hooks."""
        if batch.schema:
            self.hooks.forget_schema()
            log.info("webhook.schema_reread")
        pages = set(batch.pages)
        for page_id, parents in batch.claimed.items():
            pages.add(page_id if not parents or self.hooks.is_ours(parents) else ALL_PAGES)
        for page_id in batch.deleted:
            target = self.hooks.merge_target(page_id)
            log.info("webhook.deleted", page_id=page_id, merged_into=target)
            if target:
                pages.add(target)
        if not pages:
            return False, None
        return True, None if ALL_PAGES in pages or len(pages) > 1 else next(iter(pages))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="rescore-worker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.put(None)

    def _warm(self) -> None:
        """The rows read once at start, so the first PM edit after a deploy is rescored as fast as any other (a
        cold replica's first read is a full one: 100 calls, half a minute at 10,000 rows). A failure is logged:
        the first rescore reads them instead."""
        try:
            self.hooks.warm()
        except Exception as exc:  # noqa: BLE001 - Notion down at start must not stop the worker; it is logged
            log.warning("serve.warm_failed", error=str(exc), next="the first rescore reads the rows")
        settle_heap()

    def _loop(self) -> None:
        self._warm()
        while not self._stop.is_set():
            self._wake.get()
            if self._stop.wait(self.debounce_s):  # let a burst of events land, then rescore once
                return
            while not self._wake.empty():
                self._wake.get_nowait()
            if self.run_pending():
                settle_heap()

    @property
    def alive(self) -> bool:
        return self._thread is None or self._thread.is_alive()


@dataclass
class SyncRunner:
    """A coalesced, bounded background job (POST /sync, the "sync now" button): one run in its own thread, at
    most one more waits for it, and any further request joins the waiting one (it would do the same work a
    moment later)."""

    run: Callable[[], None]
    name: str = "sync"
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
        threading.Thread(target=self._loop, name=self.name, daemon=True).start()
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
            except Exception as exc:  # noqa: BLE001 - the service must survive a failed job; it is logged
                log.error("serve.job_failed", job=self.name, error=str(exc))
            with self._lock:
                if not self._pending:
                    self._running = False
                    return
                self._pending = False


class LatestRunner(Generic[A]):
    """A SyncRunner whose job takes an argument (plan sprint N): the waiting run uses the latest one asked for."""

    def __init__(self, run: Callable[[A], None], name: str) -> None:
        self._run = run
        self._arg: A | None = None
        self._lock = threading.Lock()
        self.runner = SyncRunner(self._run_latest, name=name)

    def request(self, arg: A) -> str:
        with self._lock:
            self._arg = arg
        return self.runner.request()

    def _run_latest(self) -> None:
        with self._lock:
            arg = self._arg
        if arg is not None:
            self._run(arg)


class RecentEvents:
    """Bounded memory of the newest timestamp seen per key (a page, a data source, a button press), so a
    retried or duplicated delivery is handled once and an event older than one already handled is skipped.
    Per process: a second replica may handle a retry once more, which is harmless (a rescore is idempotent)."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._newest: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str, timestamp: str | None) -> str | None:
        """None when this (key, timestamp) is new (and remember it); else why it is skipped."""
        if not key or timestamp is None:
            return None
        with self._lock:
            seen = self._newest.get(key)
            if seen is not None:
                order = _compare(timestamp, seen)
                if order == 0:
                    return "duplicate delivery: already handled"
                if order < 0:
                    return "older than an event already handled for it"
            self._newest[key] = timestamp
            self._newest.move_to_end(key)
            while len(self._newest) > self.capacity:
                self._newest.popitem(last=False)
        return None


def _compare(a: str, b: str) -> int:
    """-1, 0, 1 by time when both are ISO timestamps; otherwise equal strings are 0 and anything else is newer."""
    try:
        ta, tb = datetime.fromisoformat(a), datetime.fromisoformat(b)
        return (ta > tb) - (ta < tb)
    except (ValueError, TypeError):
        return 0 if a == b else 1
