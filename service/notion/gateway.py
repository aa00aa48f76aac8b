"""The one door to Notion: rate limit, one retry policy, pagination, schema bootstrap, upsert by Source Key.

This is the only module that imports `notion_client`. Everything else sees plain values (`Row`, `RowWrite`)
and `NotionError`s whose message names the page/row/setting and the fix.

Retry policy (tenacity, the only one: `notion_client` runs with `retry=False` so two policies never stack):
429/529 wait `Retry-After` (and pause the shared limiter so every thread waits); 5xx, 409 and timeouts back off
exponentially with jitter up to `NOTION_MAX_RETRIES`; any other 4xx fails at once. A create that may have
happened (timeout or 5xx on POST) is looked up before it is sent again, so a retry never makes a duplicate.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Any

import httpx
import tenacity
from notion_client import Client
from notion_client.client import ClientOptions
from notion_client.errors import HTTPResponseError, NotionClientErrorBase, RequestTimeoutError

from connectors.http import RateLimiter, retry_after_seconds
from service.logging import get_logger, redact_text, register_secrets
from service.notion.codecs import (
    CodecError,
    decode_properties,
    decode_rich_text,
    encode_properties,
    encode_property,
    encode_rich_text,
    parse_iso,
)
from service.notion.schema import BY_NAME, SCHEMA, SELF_RELATIONS, PropertySpec, SchemaProblem
from service.settings import Settings

log = get_logger(__name__)

SANDBOX_BASE_URL = "http://sandbox.local"
PAGE_SIZE = 100  # Notion's maximum page_size
MAX_BLOCKS_PER_REQUEST = 100  # children per append / create
MAX_OR_CONDITIONS = 100  # Source Key conditions per `or` filter
MAX_WAIT_S = 300.0
QUERY_CAP_REASON = "query_result_limit_reached"
DRY_RUN_PAGE_ID = ""  # page id reported for rows a dry run would create
RETRY_STATUSES = frozenset({409, 500, 502, 503, 504})  # 409 conflict_error: Notion says "try again"
RATE_LIMIT_STATUSES = frozenset({429, 529})
GATEWAY_OWNED = frozenset({"Source Key", "Content Hash"})  # written by the gateway itself, never by callers
CREATED_ASCENDING = [{"timestamp": "created_time", "direction": "ascending"}]
TYPE_LABELS = {
    "title": "Title",
    "rich_text": "Text",
    "select": "Select",
    "multi_select": "Multi-select",
    "status": "Status",
    "number": "Number",
    "date": "Date",
    "url": "URL",
    "checkbox": "Checkbox",
    "relation": "Relation",
    "people": "Person",
}
SHARE_HINT = "share the page/database with the integration in Notion (••• > Connections > add the integration)"


# --- errors ------------------------------------------------------------------------------------------------


class NotionError(Exception):
    """A Notion call failed; the message names what was being done (page/row/setting) and how to fix it."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class NotionAuthError(NotionError):
    """401 (token invalid or revoked) or 403 (the integration lacks a capability)."""


class NotionNotFoundError(NotionError):
    """404: the object does not exist or is not shared with the integration (or the database is not set up)."""


class NotionValidationError(NotionError):
    """400: Notion refused the request body; the message has Notion's words and the page/row/property."""


class NotionUnavailableError(NotionError):
    """Rate limits, 5xx or timeouts still failing after every retry."""


class _RetryableError(Exception):
    """Internal: one attempt failed in a way worth retrying. `uncertain`: the write may have been applied."""

    def __init__(self, reason: str, *, status: int | None, wait_s: float | None, uncertain: bool) -> None:
        super().__init__(reason)
        self.status = status
        self.wait_s = wait_s
        self.uncertain = uncertain


# --- call accounting ---------------------------------------------------------------------------------------


class CallCounter:
    """Notion calls (every attempt, retries included) by endpoint label; thread-safe. Calls are the run's cost."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._reads = 0
        self._writes = 0

    def add(self, endpoint: str, *, write: bool) -> None:
        with self._lock:
            self._counts[endpoint] += 1
            if write:
                self._writes += 1
            else:
                self._reads += 1

    @property
    def total(self) -> int:
        return self._reads + self._writes

    @property
    def reads(self) -> int:
        return self._reads

    @property
    def writes(self) -> int:
        return self._writes

    def by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def snapshot(self) -> CallCounter:
        """A frozen copy, to diff against later with `since`."""
        copy = CallCounter()
        with self._lock:
            copy._counts = Counter(self._counts)
            copy._reads, copy._writes = self._reads, self._writes
        return copy

    def since(self, earlier: CallCounter) -> dict[str, int]:
        """Calls per endpoint made after `earlier` was taken (endpoints with none left out)."""
        before = earlier.by_endpoint()
        return {
            name: count - before.get(name, 0)
            for name, count in self.by_endpoint().items()
            if count > before.get(name, 0)
        }

    def __repr__(self) -> str:
        return f"CallCounter(total={self.total}, reads={self.reads}, writes={self.writes})"


DEFAULT_SANDBOX_TOKEN = "sandbox"  # noqa: S105 - the documented local default, accepted only by the sandbox
SANDBOX_RATE_LIMIT = 500.0  # requests/s against the in-process sandbox: effectively unlimited
_shared_limiters: dict[float, RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_rate_limiter(rate: float) -> RateLimiter:
    """The process-wide limiter for `rate`: every gateway of the process draws from one bucket."""
    with _shared_lock:
        if rate not in _shared_limiters:
            _shared_limiters[rate] = RateLimiter(rate)
        return _shared_limiters[rate]


# --- plain data --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One decoded page of the candidates data source."""

    page_id: str
    url: str
    created_time: datetime
    last_edited_time: datetime
    last_edited_by: str | None
    values: dict[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value

    @property
    def source_key(self) -> str | None:
        key = self.values.get("Source Key")
        return str(key).strip() or None if key else None


@dataclass(frozen=True)
class RowWrite:
    """What sync wants one row to look like. `create_only` is written only when the row is created."""

    source_key: str
    properties: dict[str, Any]
    create_only: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpsertResult:
    created: list[tuple[str, str]] = field(default_factory=list)  # (source_key, page_id)
    updated: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source_key, message)


@dataclass(frozen=True)
class DatabaseRef:
    database_id: str
    data_source_id: str
    title: str
    url: str


@dataclass
class InitReport:
    ref: DatabaseRef
    created: bool
    added_properties: list[str] = field(default_factory=list)
    added_options: list[str] = field(default_factory=list)  # "Source: Discord"
    problems: list[SchemaProblem] = field(default_factory=list)


# --- pure helpers ------------------------------------------------------------------------------------------


def content_hash(encoded: Mapping[str, Any]) -> str:
    """First 16 hex chars of sha256 over the canonical JSON of encoded properties: equal hash, no write."""
    canonical = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def property_schema(spec: PropertySpec, data_source_id: str | None = None) -> dict[str, Any]:
    """The data source property configuration that creates `spec` (self-relations point at `data_source_id`)."""
    if spec.type in ("select", "multi_select"):
        return {spec.type: {"options": [{"name": option} for option in spec.options]}}
    if spec.type == "number":
        return {"number": {"format": "number"}}
    if spec.type == "relation":
        return {"relation": {"data_source_id": data_source_id, "type": "single_property", "single_property": {}}}
    return {spec.type: {}}


@dataclass
class SchemaDiff:
    """What adopting a data source needs: properties/options to add (one update) and problems for the PM."""

    additions: dict[str, dict[str, Any]] = field(default_factory=dict)
    added_properties: list[str] = field(default_factory=list)
    added_options: list[str] = field(default_factory=list)
    problems: list[SchemaProblem] = field(default_factory=list)


def diff_schema(properties: Mapping[str, Mapping[str, Any]], data_source_id: str) -> SchemaDiff:
    """Compare a data source's properties with `SCHEMA`. Extra PM properties are left alone."""
    diff = SchemaDiff()
    title_name = next((name for name, prop in properties.items() if prop.get("type") == "title"), None)
    for spec in SCHEMA:
        found = properties.get(spec.name)
        if found is None:
            if spec.type == "title":  # a data source has exactly one title property: it must be renamed
                diff.problems.append(
                    SchemaProblem(
                        spec.name,
                        f"missing (the title property is {title_name!r})",
                        "title",
                        f"rename the title property {title_name!r} to {spec.name!r} in Notion, "
                        "then run `backlog init` again",
                    )
                )
                continue
            diff.additions[spec.name] = property_schema(spec, data_source_id)
            diff.added_properties.append(spec.name)
            continue
        kind = str(found.get("type"))
        if kind != spec.type and kind not in spec.also_accepts:
            label = TYPE_LABELS.get(spec.type, spec.type)
            diff.problems.append(
                SchemaProblem(
                    spec.name,
                    kind,
                    spec.type,
                    f"rename the existing {spec.name!r} ({kind}) or change its type to {label} in Notion, "
                    "then run `backlog init` again",
                )
            )
            continue
        if kind == "relation" and spec.name in SELF_RELATIONS:
            target = (found.get("relation") or {}).get("data_source_id")
            if target and target.replace("-", "") != data_source_id.replace("-", ""):
                diff.problems.append(
                    SchemaProblem(
                        spec.name,
                        "a relation to another database",
                        "a relation to this database",
                        f"rename the existing {spec.name!r} in Notion, then run `backlog init` again",
                    )
                )
            continue
        existing = list((found.get(kind) or {}).get("options") or [])
        names = {str(option.get("name")) for option in existing}
        missing = [option for option in spec.options if option not in names]
        if not missing:
            continue
        if kind == "status":  # the API cannot add status options: the PM adds them once
            diff.problems.append(
                SchemaProblem(
                    spec.name,
                    f"status without option(s) {', '.join(missing)}",
                    f"status with options {', '.join(spec.options)}",
                    f"add the option(s) {', '.join(repr(m) for m in missing)} to {spec.name!r} in Notion "
                    "(status options cannot be added through the API)",
                )
            )
            continue
        kept = [{key: option[key] for key in ("id", "name", "color") if key in option} for option in existing]
        diff.additions[spec.name] = {kind: {"options": kept + [{"name": option} for option in missing]}}
        diff.added_options.extend(f"{spec.name}: {option}" for option in missing)
    return diff


def _as_datetime(value: Any) -> datetime:
    parsed = parse_iso(str(value)) if value else datetime.fromtimestamp(0, tz=UTC)
    if isinstance(parsed, datetime):
        return parsed
    assert isinstance(parsed, date)
    return datetime.combine(parsed, dtime(), tzinfo=UTC)


def _and_filter(base: dict[str, Any] | None, extra: dict[str, Any]) -> dict[str, Any]:
    """`base AND extra` without nesting deeper than Notion's two levels when `base` is already an `and`."""
    if base is None:
        return extra
    if list(base) == ["and"]:
        return {"and": [*base["and"], extra]}
    return {"and": [base, extra]}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _error_from(exc: HTTPResponseError, what: str, *, sandbox: bool) -> NotionError:
    """A Notion error response as the right `NotionError`, with Notion's message, what we did and the fix."""
    status = int(exc.status)
    code = str(getattr(exc.code, "value", exc.code))
    said = redact_text(str(exc) or f"HTTP {status}")
    doing = f"{what}: " if what else ""
    if status == 401:
        fix = (
            "BACKLOG_SANDBOX_TOKEN does not match the local sandbox's token (NOTION_TOKEN is unset, so the sandbox "
            "is used); unset BACKLOG_SANDBOX_TOKEN or set NOTION_TOKEN"
            if sandbox
            else "NOTION_TOKEN is invalid or revoked: copy the integration's secret from "
            "https://www.notion.so/profile/integrations into NOTION_TOKEN"
        )
        return NotionAuthError(f"{doing}{fix} (Notion said: {said})", status=status, code=code)
    if status == 403:
        return NotionAuthError(
            f"{doing}the integration may not do this (Notion said: {said}); enable the read, update and insert "
            "content capabilities of the integration and " + SHARE_HINT,
            status=status,
            code=code,
        )
    if status == 404:
        return NotionNotFoundError(f"{doing}not found (Notion said: {said}); {SHARE_HINT}", status=status, code=code)
    if status in (400, 413, 422):
        return NotionValidationError(f"{doing}Notion refused the request: {said}", status=status, code=code)
    return NotionError(f"{doing}Notion answered {status}: {said}", status=status, code=code)


@dataclass
class _QueryStatus:
    capped: bool = False  # Notion stopped at its 10,000-row cap (request_status.incomplete_reason)


# --- the gateway -------------------------------------------------------------------------------------------


class NotionGateway:
    """Every Notion call of the service goes through one instance of this class."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.is_sandbox = settings.uses_sandbox
        self.calls = CallCounter()
        self._sleep = sleep
        if limiter is None:
            # The real clock shares one bucket per process; an injected sleep (tests) gets its own bucket.
            # The local sandbox has no rate limit of its own unless asked (`backlog sandbox --rate-limit`), so
            # the client-side limit applies to it only when NOTION_RATE_LIMIT is set explicitly.
            rate = settings.notion_rate_limit
            if self.is_sandbox and "notion_rate_limit" not in settings.model_fields_set:
                rate = SANDBOX_RATE_LIMIT
            limiter = shared_rate_limiter(rate) if sleep is time.sleep else RateLimiter(rate, sleep=sleep)
        self._limiter = limiter
        self._max_retries = settings.notion_max_retries
        self._bot_user_id: str | None = settings.notion_bot_user_id
        self._parent_page_id: str | None = settings.notion_parent_page_id
        self._ref: DatabaseRef | None = None
        self._types: dict[str, str] | None = None
        self._type_problems: dict[str, SchemaProblem] = {}
        self.sandbox_root_page_id: str | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
    ) -> NotionGateway:
        """NOTION_TOKEN set: the real API at NOTION_API_URL. Unset: the local sandbox at BACKLOG_SANDBOX_PATH.
        `sleep`/`limiter` are for tests (no real waiting) and for sharing one limiter explicitly."""
        root_page_id: str | None = None
        if settings.uses_sandbox:
            sandbox_module: Any = importlib.import_module("service.sandbox")  # lazy: only the sandbox needs it
            token = settings.backlog_sandbox_token.get_secret_value()
            settings.backlog_sandbox_path.parent.mkdir(parents=True, exist_ok=True)
            sandbox = sandbox_module.Sandbox(settings.backlog_sandbox_path, token=token)
            root_page_id = getattr(sandbox, "root_page_id", None)
            if transport is None:
                transport = sandbox_module.SandboxTransport(sandbox)
            base_url = SANDBOX_BASE_URL
        else:
            assert settings.notion_token is not None  # uses_sandbox is False
            token = settings.notion_token.get_secret_value()
            base_url = settings.notion_api_url
        if not (settings.uses_sandbox and token == DEFAULT_SANDBOX_TOKEN):
            # The sandbox's well-known default token is no secret (and redacting "sandbox" would mangle paths).
            register_secrets([token])
        notion_logger = logging.getLogger("notion_client")
        options = ClientOptions(
            auth=token,
            base_url=base_url,
            timeout_ms=int(settings.notion_timeout_s * 1000),
            retry=False,  # the gateway owns the one retry policy
            logger=notion_logger,
            log_level=max(notion_logger.getEffectiveLevel(), logging.ERROR),  # we log retries ourselves
        )
        client = Client(options=options, client=httpx.Client(transport=transport))
        gateway = cls(client, settings, sleep=sleep, limiter=limiter)
        gateway.sandbox_root_page_id = root_page_id
        return gateway

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> NotionGateway:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the one retry loop -----------------------------------------------------------------------------------

    def _call(
        self,
        endpoint: str,
        send: Callable[[], Any],
        *,
        write: bool,
        what: str,
        recover: Callable[[], Any] | None = None,
    ) -> Any:
        """Send one logical request with the retry policy. `recover` (for creates) is asked before re-sending
        after an attempt that may have been applied; a non-None answer is returned instead of sending again."""
        uncertain = False
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_RetryableError),
            stop=tenacity.stop_after_attempt(self._max_retries + 1),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=functools.partial(self._log_retry, endpoint, what),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if uncertain and recover is not None:
                        found = recover()
                        if found is not None:
                            log.info("notion.recovered_write", endpoint=endpoint, what=what)
                            return found
                    try:
                        return self._attempt(endpoint, send, write=write, what=what)
                    except _RetryableError as exc:
                        uncertain = uncertain or exc.uncertain
                        raise
        except _RetryableError as exc:
            raise NotionUnavailableError(
                f"{what or endpoint}: Notion still failing after {self._max_retries + 1} attempts ({exc}); "
                "try again later or raise NOTION_MAX_RETRIES",
                status=exc.status,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, endpoint: str, send: Callable[[], Any], *, write: bool, what: str) -> Any:
        self._limiter.acquire()
        self.calls.add(endpoint, write=write)
        try:
            return send()
        except (RequestTimeoutError, httpx.TimeoutException) as exc:
            raise _RetryableError("timeout", status=None, wait_s=None, uncertain=True) from exc
        except httpx.TransportError as exc:  # connection refused/reset: a connect error never reached Notion
            uncertain = not isinstance(exc, httpx.ConnectError)
            raise _RetryableError(
                f"transport error {type(exc).__name__}", status=None, wait_s=None, uncertain=uncertain
            ) from exc
        except HTTPResponseError as exc:
            status = int(exc.status)
            if status in RATE_LIMIT_STATUSES or status in RETRY_STATUSES:
                wait_s = retry_after_seconds(exc.headers)
                if status in RATE_LIMIT_STATUSES and wait_s:
                    self._limiter.pause(wait_s)
                # A 429 was refused before any work; a 5xx (529 included) may have been applied.
                raise _RetryableError(f"HTTP {status}", status=status, wait_s=wait_s, uncertain=status >= 500) from exc
            raise _error_from(exc, what or endpoint, sandbox=self.is_sandbox) from None
        except NotionClientErrorBase as exc:  # e.g. an invalid path parameter: a bug or a bad id in a setting
            raise NotionError(f"{what or endpoint}: {exc}") from None

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableError) and exc.wait_s is not None:
            return min(exc.wait_s, MAX_WAIT_S)
        base: float = min(0.5 * 2.0 ** (state.attempt_number - 1), 30.0)  # 0.5, 1, 2, 4 ... capped
        return base / 2 + random.random() * base / 2

    def _log_retry(self, endpoint: str, what: str, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "notion.retry",
            endpoint=endpoint,
            what=what,
            status=getattr(exc, "status", None),
            reason=str(exc),
            wait_s=round(state.next_action.sleep, 3) if state.next_action else None,
            attempt=state.attempt_number,
        )

    # --- workspace ------------------------------------------------------------------------------------------

    def bot_user_id(self) -> str:
        """This integration's bot user id (NOTION_BOT_USER_ID wins): webhooks drop events authored by it."""
        if self._bot_user_id is None:
            me = self._call("users.me", self.client.users.me, write=False, what="reading the integration's user")
            self._bot_user_id = str(me["id"])
        return self._bot_user_id

    def parent_page_id(self) -> str:
        """NOTION_PARENT_PAGE_ID, else the first top-level page shared with the integration."""
        if self._parent_page_id:
            return self._parent_page_id
        if self.sandbox_root_page_id:
            self._parent_page_id = self.sandbox_root_page_id
            return self._parent_page_id
        for result in self._search(filter={"property": "object", "value": "page"}, what="finding a parent page"):
            if (result.get("parent") or {}).get("type") == "workspace" and not result.get("in_trash"):
                self._parent_page_id = str(result["id"])
                return self._parent_page_id
        raise NotionNotFoundError(
            "no top-level page is shared with the integration: set NOTION_PARENT_PAGE_ID to the page that should "
            f"hold the backlog, or {SHARE_HINT}"
        )

    def _search(
        self, *, what: str, query: str | None = None, filter: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"page_size": PAGE_SIZE}
        if query is not None:
            kwargs["query"] = query
        if filter is not None:
            kwargs["filter"] = filter
        yield from self._paginate("search", self.client.search, kwargs, what=what)

    def _paginate(
        self, endpoint: str, method: Callable[..., Any], kwargs: dict[str, Any], *, what: str, **positional: Any
    ) -> Iterator[dict[str, Any]]:
        """Every result of a cursor-paginated list endpoint; stops with an error if Notion repeats a cursor."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            send = functools.partial(method, **positional, **kwargs, **({"start_cursor": cursor} if cursor else {}))
            body = self._call(endpoint, send, write=False, what=what)
            yield from body.get("results") or []
            cursor = body.get("next_cursor")
            if not body.get("has_more") or not cursor:
                return
            if cursor in seen:
                raise NotionError(f"{what}: Notion returned the cursor {cursor!r} twice; stopping")
            seen.add(cursor)

    # --- database bootstrap ----------------------------------------------------------------------------------

    def _find_database(self) -> DatabaseRef | None:
        title = self.settings.notion_database_title
        database_id = self.settings.notion_database_id
        if database_id:
            what = f"reading the database NOTION_DATABASE_ID={database_id}"
            db = self._call(
                "databases.retrieve",
                functools.partial(self.client.databases.retrieve, database_id),
                write=False,
                what=what,
            )
            sources = db.get("data_sources") or []
            if not sources:
                raise NotionNotFoundError(f"{what}: it has no data source; point NOTION_DATABASE_ID at a database")
            source = next((s for s in sources if s.get("name") == title), sources[0])
            return DatabaseRef(
                str(db["id"]), str(source["id"]), decode_rich_text(db.get("title")) or title, str(db.get("url", ""))
            )
        what = f"finding the database {title!r}"
        for result in self._search(query=title, filter={"property": "object", "value": "data_source"}, what=what):
            if result.get("in_trash") or result.get("archived"):
                continue
            if decode_rich_text(result.get("title")).strip() != title:
                continue
            parent = result.get("parent") or {}
            return DatabaseRef(str(parent.get("database_id", "")), str(result["id"]), title, str(result.get("url", "")))
        return None

    def database(self) -> DatabaseRef:
        """The candidates database (found, never created here); cached for the gateway's life."""
        if self._ref is None:
            ref = self._find_database()
            if ref is None:
                raise NotionNotFoundError(
                    f"the database {self.settings.notion_database_title!r} was not found: run `backlog init` to "
                    f"create it, or set NOTION_DATABASE_ID, or {SHARE_HINT}"
                )
            self._ref = ref
        return self._ref

    def _remember_schema(self, properties: Mapping[str, Mapping[str, Any]], data_source_id: str) -> None:
        self._types = {name: str(prop.get("type")) for name, prop in properties.items()}
        self._type_problems = {p.property: p for p in diff_schema(properties, data_source_id).problems}

    def property_types(self) -> dict[str, str]:
        """Live property name -> Notion type of the data source (one read per gateway)."""
        if self._types is None:
            ref = self.database()
            what = f"reading the schema of {ref.title!r}"
            source = self._call(
                "data_sources.retrieve",
                functools.partial(self.client.data_sources.retrieve, ref.data_source_id),
                write=False,
                what=what,
            )
            self._remember_schema(source.get("properties") or {}, ref.data_source_id)
        assert self._types is not None
        return self._types

    def init_database(self, *, dry_run: bool = False) -> InitReport:
        """Adopt (add what is missing, report what is wrong) or create the candidates database. Idempotent."""
        ref = self._find_database()
        if ref is not None:
            self._ref = ref
            what = f"reading the schema of {ref.title!r}"
            source = self._call(
                "data_sources.retrieve",
                functools.partial(self.client.data_sources.retrieve, ref.data_source_id),
                write=False,
                what=what,
            )
            properties = source.get("properties") or {}
            diff = diff_schema(properties, ref.data_source_id)
            if diff.additions and not dry_run:
                updated = self._call(
                    "data_sources.update",
                    functools.partial(self.client.data_sources.update, ref.data_source_id, properties=diff.additions),
                    write=True,
                    what=f"adding {', '.join(diff.additions)} to {ref.title!r}",
                )
                properties = updated.get("properties") or {**properties, **diff.additions}
            self._remember_schema(properties, ref.data_source_id)
            for problem in diff.problems:
                log.warning("notion.schema_problem", database=ref.title, problem=str(problem))
            return InitReport(ref, False, diff.added_properties, diff.added_options, diff.problems)

        title = self.settings.notion_database_title
        parent = self.parent_page_id()
        names = [spec.name for spec in SCHEMA]
        if dry_run:
            return InitReport(DatabaseRef("", "", title, ""), True, names)
        plain = {spec.name: property_schema(spec) for spec in SCHEMA if spec.type != "relation"}
        db = self._call(
            "databases.create",
            functools.partial(
                self.client.databases.create,
                parent={"type": "page_id", "page_id": parent},
                title=encode_rich_text(title),
                initial_data_source={"properties": plain},
            ),
            write=True,
            what=f"creating the database {title!r} under page {parent}",
            recover=self._find_database_page,
        )
        sources = db.get("data_sources") or []
        if not sources:
            raise NotionError(f"creating the database {title!r}: Notion returned no data source")
        ref = DatabaseRef(str(db["id"]), str(sources[0]["id"]), title, str(db.get("url", "")))
        relations = {spec.name: property_schema(spec, ref.data_source_id) for spec in SCHEMA if spec.type == "relation"}
        source = self._call(
            "data_sources.update",
            functools.partial(self.client.data_sources.update, ref.data_source_id, properties=relations),
            write=True,
            what=f"adding the self-relations {', '.join(relations)} to {title!r}",
        )
        self._ref = ref
        self._remember_schema(source.get("properties") or {}, ref.data_source_id)
        log.info("notion.database_created", title=title, url=ref.url)
        return InitReport(ref, True, names)

    def _find_database_page(self) -> dict[str, Any] | None:
        """Recovery for a create that may have happened: the database object, if it exists now."""
        ref = self._find_database()
        if ref is None:
            return None
        return {"id": ref.database_id, "url": ref.url, "data_sources": [{"id": ref.data_source_id}]}

    # --- rows ----------------------------------------------------------------------------------------------

    def _row(self, page: Mapping[str, Any]) -> Row:
        properties = page.get("properties") or {}
        values = decode_properties(properties)
        for name, prop in properties.items():
            if prop.get("type") == "relation" and prop.get("has_more"):  # page objects show only 25 ids
                values[name] = self._full_relation(str(page["id"]), str(prop.get("id")), name)
        return Row(
            page_id=str(page["id"]),
            url=str(page.get("url", "")),
            created_time=_as_datetime(page.get("created_time")),
            last_edited_time=_as_datetime(page.get("last_edited_time")),
            last_edited_by=(page.get("last_edited_by") or {}).get("id"),
            values=values,
        )

    def _full_relation(self, page_id: str, property_id: str, name: str) -> tuple[str, ...]:
        items = self._paginate(
            "pages.properties.retrieve",
            self.client.pages.properties.retrieve,
            {"page_size": PAGE_SIZE},
            what=f"reading relation {name!r} of page {page_id}",
            page_id=page_id,
            property_id=property_id,
        )
        return tuple(str((item.get("relation") or {}).get("id")) for item in items)

    def _query_once(
        self,
        data_source_id: str,
        filter: dict[str, Any] | None,
        sorts: list[dict[str, Any]],
        what: str,
        status: _QueryStatus | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every page of one query (all cursors). `status.capped` tells whether Notion stopped at its cap."""
        kwargs: dict[str, Any] = {"page_size": PAGE_SIZE, "sorts": sorts}
        if filter is not None:
            kwargs["filter"] = filter
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            send = functools.partial(
                self.client.data_sources.query, data_source_id, **kwargs, **({"start_cursor": cursor} if cursor else {})
            )
            body = self._call("data_sources.query", send, write=False, what=what)
            if status is not None and (body.get("request_status") or {}).get("incomplete_reason") == QUERY_CAP_REASON:
                status.capped = True
            yield from (r for r in body.get("results") or [] if r.get("object", "page") == "page")
            cursor = body.get("next_cursor")
            if not body.get("has_more") or not cursor:
                return
            if cursor in seen:
                raise NotionError(f"{what}: Notion returned the cursor {cursor!r} twice; stopping")
            seen.add(cursor)

    def iter_rows(
        self, *, filter: dict[str, Any] | None = None, sorts: list[dict[str, Any]] | None = None
    ) -> Iterator[Row]:
        """Every row matching `filter`, 100 per call. Past Notion's 10,000-row cap a query is continued in
        created_time windows (on_or_after the last created_time seen, ids deduped at the boundary); with custom
        `sorts` the order then holds only within the first 10,000 rows."""
        ref = self.database()
        what = f"reading rows of {ref.title!r}"
        yielded: set[str] = set()
        window_start: str | None = None
        current_sorts = sorts or CREATED_ASCENDING
        while True:
            window_filter = filter
            if window_start is not None:
                window_filter = _and_filter(
                    filter, {"timestamp": "created_time", "created_time": {"on_or_after": window_start}}
                )
            status = _QueryStatus()
            last_created: str | None = None
            fresh = 0
            for page in self._query_once(ref.data_source_id, window_filter, current_sorts, what, status):
                last_created = str(page.get("created_time") or last_created or "")
                page_id = str(page["id"])
                if page_id in yielded:
                    continue
                yielded.add(page_id)
                fresh += 1
                yield self._row(page)
            if not status.capped:
                return
            if current_sorts is not CREATED_ASCENDING:
                # Custom order: windows need created_time order, so start over and skip what was yielded.
                log.info("notion.query_cap", what=what, rows=len(yielded), next="restart in created_time order")
                current_sorts, window_start = CREATED_ASCENDING, None
                continue
            if not last_created or fresh == 0:
                raise NotionError(
                    f"{what}: more than 10,000 rows share the created_time {window_start}; narrow the filter"
                )
            log.info("notion.query_cap", what=what, rows=len(yielded), next_window=last_created)
            window_start = last_created

    def find_by_source_keys(self, keys: Iterable[str]) -> dict[str, Row]:
        """Rows by Source Key, up to 100 keys per query (`or` of equals)."""
        wanted = list(dict.fromkeys(k.strip() for k in keys if k and k.strip()))
        found: dict[str, Row] = {}
        if not wanted:
            return found
        ref = self.database()
        for batch in _chunks(wanted, MAX_OR_CONDITIONS):
            conditions = [{"property": "Source Key", "rich_text": {"equals": key}} for key in batch]
            what = f"looking up {len(batch)} Source Key(s) in {ref.title!r}"
            for page in self._query_once(ref.data_source_id, {"or": conditions}, CREATED_ASCENDING, what):
                row = self._row(page)
                key = row.source_key
                if key is None or key not in batch:
                    continue
                if key in found:  # oldest wins: it is the one the PM has been editing
                    log.warning("notion.duplicate_source_key", source_key=key, kept=found[key].url, also=row.url)
                    continue
                found[key] = row
        return found

    def get_row(self, page_id: str) -> Row:
        page = self._call(
            "pages.retrieve",
            functools.partial(self.client.pages.retrieve, page_id),
            write=False,
            what=f"reading page {page_id}",
        )
        return self._row(page)

    def _encode(self, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        types = self.property_types()
        for name in values:
            if name in self._type_problems:
                raise CodecError(str(self._type_problems[name]))
        return encode_properties(values, types)

    def upsert(
        self,
        writes: Sequence[RowWrite],
        *,
        existing: Mapping[str, Row] | None = None,
        dry_run: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> UpsertResult:
        """Create new rows, update changed ones (sync-owned properties only), skip unchanged ones by hash.
        One bad row is reported in `failed` and the batch goes on."""
        result = UpsertResult()
        if not writes:
            return result
        if existing is None:
            existing = self.find_by_source_keys(w.source_key for w in writes)
        written: dict[str, tuple[str, str]] = {}  # rows this call wrote: key -> (page id, content hash)
        for done, write in enumerate(writes, start=1):
            try:
                self._upsert_one(write, existing, written, result, dry_run=dry_run)
            except (NotionAuthError, NotionUnavailableError):
                raise  # not about this row: every other row would fail the same way
            except (CodecError, NotionError) as exc:
                message = redact_text(str(exc))
                result.failed.append((write.source_key, message))
                log.warning("notion.row_failed", source_key=write.source_key, error=message)
            if on_progress is not None:
                on_progress(done)
        return result

    def _upsert_one(
        self,
        write: RowWrite,
        existing: Mapping[str, Row],
        written: dict[str, tuple[str, str]],
        result: UpsertResult,
        *,
        dry_run: bool,
    ) -> None:
        key = write.source_key.strip()
        if not key:
            raise CodecError("empty Source Key: every row needs a unique <source>:<external id>")
        owned = {
            name: value
            for name, value in write.properties.items()
            if name in BY_NAME and BY_NAME[name].writer != "pm" and name not in GATEWAY_OWNED
        }
        encoded_owned = self._encode(owned)
        digest = content_hash(encoded_owned)
        if key in written:
            page_id, current_hash = written[key]
        elif key in existing:
            row = existing[key]
            page_id, current_hash = row.page_id, str(row.get("Content Hash", "")).strip()
        else:
            page_id, current_hash = "", ""
        if not page_id:
            values = {
                name: value
                for name, value in {**write.properties, **write.create_only}.items()
                if name not in GATEWAY_OWNED
            }
            properties = self._encode(values)
            properties["Source Key"] = encode_property("rich_text", key)
            properties["Content Hash"] = encode_property("rich_text", digest)
            new_id = DRY_RUN_PAGE_ID if dry_run else self._create_row(key, properties)
            written[key] = (new_id, digest)
            result.created.append((key, new_id))
            return
        if current_hash == digest:
            result.unchanged.append(key)
            return
        if not dry_run:
            payload = {**encoded_owned, "Content Hash": encode_property("rich_text", digest)}
            self._call(
                "pages.update",
                functools.partial(self.client.pages.update, page_id, properties=payload),
                write=True,
                what=f"updating page {page_id} ({key})",
            )
        written[key] = (page_id, digest)
        result.updated.append((key, page_id))

    def _create_row(self, key: str, properties: dict[str, Any]) -> str:
        ref = self.database()

        def already_created() -> dict[str, Any] | None:
            row = self.find_by_source_keys([key]).get(key)
            return {"id": row.page_id, "url": row.url} if row else None

        page = self._call(
            "pages.create",
            functools.partial(
                self.client.pages.create,
                parent={"type": "data_source_id", "data_source_id": ref.data_source_id},
                properties=properties,
            ),
            write=True,
            what=f"creating the row {key}",
            recover=already_created,
        )
        return str(page["id"])

    def update_properties(self, page_id: str, values: dict[str, Any], *, what: str = "") -> None:
        """Write plain values to a page (scorer/report). Nothing to write, no call."""
        if not values:
            return
        properties = self._encode(values)
        self._call(
            "pages.update",
            functools.partial(self.client.pages.update, page_id, properties=properties),
            write=True,
            what=what or f"updating {', '.join(values)} of page {page_id}",
        )

    # --- pages & blocks ------------------------------------------------------------------------------------

    def _iter_children(self, block_id: str) -> Iterator[dict[str, Any]]:
        yield from self._paginate(
            "blocks.children.list",
            self.client.blocks.children.list,
            {"page_size": PAGE_SIZE},
            what=f"listing the content of {block_id}",
            block_id=block_id,
        )

    def list_children(self, block_id: str) -> list[dict[str, Any]]:
        return list(self._iter_children(block_id))

    def find_child_page(self, parent_page_id: str, title: str) -> str | None:
        """The id of the sub-page of `parent_page_id` titled `title` (not in trash), or None."""
        for block in self._iter_children(parent_page_id):
            if block.get("type") != "child_page" or block.get("in_trash") or block.get("archived"):
                continue
            if (block.get("child_page") or {}).get("title") == title:
                return str(block["id"])
        return None

    def _append(self, block_id: str, blocks: Sequence[dict[str, Any]]) -> None:
        for chunk in _chunks(blocks, MAX_BLOCKS_PER_REQUEST):
            self._call(
                "blocks.children.append",
                functools.partial(self.client.blocks.children.append, block_id, children=list(chunk)),
                write=True,
                what=f"adding {len(chunk)} block(s) to {block_id}",
            )

    def create_page(
        self, parent_page_id: str, title: str, blocks: list[dict[str, Any]], *, icon: str | None = None
    ) -> tuple[str, str]:
        """Create a sub-page with content (more than 100 blocks are appended in chunks); (id, url)."""
        kwargs: dict[str, Any] = {
            "parent": {"type": "page_id", "page_id": parent_page_id},
            "properties": {"title": {"title": encode_rich_text(title)}},
            "children": blocks[:MAX_BLOCKS_PER_REQUEST],
        }
        if icon:
            kwargs["icon"] = {"type": "emoji", "emoji": icon}

        def already_created() -> dict[str, Any] | None:
            page_id = self.find_child_page(parent_page_id, title)
            if page_id is None:
                return None
            return dict(
                self._call(
                    "pages.retrieve",
                    functools.partial(self.client.pages.retrieve, page_id),
                    write=False,
                    what=f"reading page {page_id}",
                )
            )

        page = self._call(
            "pages.create",
            functools.partial(self.client.pages.create, **kwargs),
            write=True,
            what=f"creating the page {title!r} under {parent_page_id}",
            recover=already_created,
        )
        page_id = str(page["id"])
        self._append(page_id, blocks[MAX_BLOCKS_PER_REQUEST:])
        return page_id, str(page.get("url", ""))

    def page_url(self, page_id: str) -> str:
        """The link a person opens (Notion's, or the sandbox's HTML view)."""
        page = self._call(
            "pages.retrieve",
            functools.partial(self.client.pages.retrieve, page_id),
            write=False,
            what=f"reading page {page_id}",
        )
        return str(page.get("url", ""))

    def replace_children(self, page_id: str, blocks: list[dict[str, Any]]) -> None:
        """Delete the page's content and write `blocks` (a report page regenerated in place)."""
        for block in self.list_children(page_id):
            self._call(
                "blocks.delete",
                functools.partial(self.client.blocks.delete, str(block["id"])),
                write=True,
                what=f"clearing page {page_id}",
            )
        self._append(page_id, blocks)


__all__ = [
    "CallCounter",
    "DatabaseRef",
    "InitReport",
    "NotionAuthError",
    "NotionError",
    "NotionGateway",
    "NotionNotFoundError",
    "NotionUnavailableError",
    "NotionValidationError",
    "Row",
    "RowWrite",
    "SchemaDiff",
    "UpsertResult",
    "content_hash",
    "diff_schema",
    "property_schema",
    "shared_rate_limiter",
]
