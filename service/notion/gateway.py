"""The one door to Notion: `NotionGateway` composes the session (rate limit, retry, counting), the database
bootstrap, the rows and the pages. Everything else sees plain values (`Row`, `RowWrite`) and `NotionError`s
whose message names the page/row/setting and the fix.

The names below were all defined in this module before it was split; they stay importable from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import httpx
from notion_client import Client

from connectors.http import RateLimiter
from service.logging import get_logger
from service.notion.cache import UrlCache
from service.notion.calls import CallCounter
from service.notion.client import DEFAULT_SANDBOX_TOKEN, SANDBOX_BASE_URL, connect
from service.notion.codecs import CodecError
from service.notion.database import (
    TYPE_LABELS,
    Database,
    DatabaseRef,
    InitReport,
    SchemaDiff,
    diff_schema,
    property_schema,
)
from service.notion.errors import (
    RATE_LIMIT_STATUSES,
    RETRY_STATUSES,
    SHARE_HINT,
    NotionAuthError,
    NotionError,
    NotionNotFoundError,
    NotionUnavailableError,
    NotionValidationError,
)
from service.notion.errors import RetryableError as _RetryableError
from service.notion.errors import error_from_response as _error_from
from service.notion.page_cache import FILE_NAME as PAGE_CACHE_FILE
from service.notion.page_cache import CachedPages, PageCache, PageView
from service.notion.pages import MAX_BLOCKS_PER_REQUEST, Pages
from service.notion.rows import (
    CREATED_ASCENDING,
    DRY_RUN_PAGE_ID,
    GATEWAY_OWNED,
    MAX_OR_CONDITIONS,
    QUERY_CAP_REASON,
    Row,
    Rows,
    RowsRead,
    RowWrite,
    UpsertResult,
    _and_filter,
    _as_datetime,
    _QueryStatus,
    content_hash,
)
from service.notion.schema import PropertySpec, SchemaProblem
from service.notion.session import (
    JSON,
    MAX_WAIT_S,
    PAGE_SIZE,
    SANDBOX_RATE_LIMIT,
    BackoffPolicy,
    NotionSession,
    _shared_limiters,
    _shared_lock,
    limiter_for,
    shared_rate_limiter,
)
from service.notion.session import chunks as _chunks
from service.notion.themes import ThemeStore
from service.settings import Settings

log = get_logger(__name__)


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
        policy = BackoffPolicy(settings.notion_max_retries, sleep=sleep)
        self.session = NotionSession(limiter or limiter_for(settings, sleep), policy, sandbox=self.is_sandbox)
        self.calls: CallCounter = self.session.calls
        self._bot_user_id: str | None = settings.notion_bot_user_id
        self._database = Database(client, self.session, settings)
        self._pages = Pages(client, self.session)
        self._urls = UrlCache(settings.backlog_cache_dir / "page-urls.json")
        self.page_cache = PageCache(settings.backlog_cache_dir / PAGE_CACHE_FILE)  # sprint pages: docs/sprint-page.md
        self._cached_pages = CachedPages(self._pages, self.page_cache)
        self._rows = Rows(
            client,
            self.session,
            self._database,
            sleep=sleep,
            cache_dir=settings.backlog_cache_dir,
            full_read_hours=settings.backlog_full_read_hours,
            whoami=self.bot_user_id,
        )
        self._themes: ThemeStore | None = None

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
        connection = connect(settings, transport=transport)
        gateway = cls(connection.client, settings, sleep=sleep, limiter=limiter)
        gateway.sandbox_root_page_id = connection.sandbox_root_page_id
        return gateway

    @property
    def sandbox_root_page_id(self) -> str | None:
        """The sandbox's top-level page: the parent when NOTION_PARENT_PAGE_ID is unset."""
        return self._database.sandbox_root_page_id

    @sandbox_root_page_id.setter
    def sandbox_root_page_id(self, page_id: str | None) -> None:
        self._database.sandbox_root_page_id = page_id

    def close(self) -> None:
        self._rows.close()
        self.client.close()

    def __enter__(self) -> NotionGateway:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- workspace and database

    def bot_user_id(self) -> str:
        """This integration's bot user id (NOTION_BOT_USER_ID wins): webhooks drop events authored by it."""
        if self._bot_user_id is None:
            what = "reading the integration's user"
            me = self.session.call("users.me", self.client.users.me, write=False, what=what)
            self._bot_user_id = str(me["id"])
        return self._bot_user_id

    def parent_page_id(self) -> str:
        """NOTION_PARENT_PAGE_ID, else the first top-level page shared with the integration."""
        return self._database.parent_page_id()

    def database(self) -> DatabaseRef:
        """The candidates database (found, never created here); cached for the gateway's life."""
        return self._database.ref()

    def property_types(self) -> dict[str, str]:
        """Live property name -> Notion type of the data source (one read per gateway)."""
        return self._database.property_types()

    def editor_property(self) -> str | None:
        """The live "Last edited by" property (None: reads cannot skip this service's own writes)."""
        return self._database.editor_property()

    def forget_schema(self) -> None:
        """The data source's schema changed (webhook): the next read of it asks Notion again."""
        self._database._schema = self._database._types = None

    def init_database(self, *, dry_run: bool = False) -> InitReport:
        """Adopt (add what is missing, report what is wrong) or create the candidates database. Idempotent."""
        return self._database.init(dry_run=dry_run)

    def workspace_people(self) -> list[JSON]:
        """The workspace's person members (doctor: more than one may mean a block-capped Free plan)."""
        return self._database.people()

    def count_rows(self) -> int:
        """Rows of the candidates database: each is a block against a capped plan's budget."""
        return self._database.count_rows()

    # --- rows

    def iter_rows(self, *, filter: JSON | None = None, sorts: list[JSON] | None = None) -> Iterator[Row]:
        """Every row matching `filter`, 100 per call, past Notion's 10,000-row query cap."""
        return self._rows.iter_rows(filter=filter, sorts=sorts)

    def read_rows(self, *, full: bool = False, full_if_pages: int = 0) -> RowsRead:
        """Every live row, read incrementally through the row cache (a full read when there is none, when the
        last one is older than BACKLOG_FULL_READ_HOURS, on `full`, or when it costs at most `full_if_pages`
        query pages); `changed` says what moved since."""
        return self._rows.read(full=full, full_if_pages=full_if_pages)

    def row_snapshot(self) -> dict[str, Row] | None:
        """The rows of this gateway's last `read_rows` with its own writes applied, or None (read again)."""
        return self._rows.snapshot()

    def find_by_source_keys(self, keys: Iterable[str]) -> dict[str, Row]:
        """Rows by Source Key, up to 100 keys per query: what decides whether a key exists (never the cache)."""
        return self._rows.find_by_source_keys(keys)

    def get_row(self, page_id: str) -> Row:
        return self._rows.get_row(page_id)

    def upsert(
        self,
        writes: Sequence[RowWrite],
        *,
        existing: Mapping[str, Row] | None = None,
        dry_run: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> UpsertResult:
        """Create new rows, update changed ones (sync-owned properties only), skip unchanged ones by hash."""
        return self._rows.upsert(writes, existing, dry_run=dry_run, on_progress=on_progress)

    def update_properties(self, page_id: str, values: dict[str, Any], *, what: str = "") -> None:
        """Write plain values to a page (scorer/report). Nothing to write, no call."""
        self._rows.update_properties(page_id, values, what=what)

    def trash_row(self, page_id: str, *, what: str = "") -> None:
        """Move a row to Notion's trash (healing a duplicate Source Key)."""
        self._rows.trash_row(page_id, what=what)

    def forget_row(self, page_id: str) -> None:
        """A row Notion says is in the trash (a `page.deleted` event): out of the rows in memory and the cache
        file, since a query never returns trashed pages and the incremental read cannot see it go."""
        self._rows.forget(page_id)

    # --- themes

    def themes(self) -> ThemeStore:
        """The `backlog-themes` database and the candidates' Theme relation (docs/intelligence.md)."""
        if self._themes is None:
            self._themes = ThemeStore(self.client, self.session, self._database, self._rows)
        return self._themes

    # --- pages and blocks

    def list_children(self, block_id: str) -> list[JSON]:
        return self._pages.list_children(block_id)

    def find_child_page(
        self, parent_page_id: str, title: str | None = None, *, prefix: str | None = None
    ) -> str | None:
        """The id of the live sub-page titled `title` (or whose title starts with `prefix`), or None."""
        return self._pages.find_child_page(parent_page_id, title, prefix=prefix)

    def page_block_texts(self, page_id: str) -> list[str]:
        """The plain text of each top-level block of the page, in order."""
        return self._pages.page_block_texts(page_id)

    def create_page(
        self, parent_page_id: str, title: str, blocks: list[JSON], *, icon: str | None = None
    ) -> tuple[str, str]:
        """Create a sub-page with content (more than 100 blocks are appended in chunks); (id, url)."""
        page_id, url = self._pages.create_page(parent_page_id, title, blocks, icon=icon)
        self._urls.put(page_id, url)
        return page_id, url

    def page_url(self, page_id: str) -> str:
        """The link a person opens (Notion's, or the sandbox's HTML view); cached, since it never changes."""
        url = self._urls.get(page_id)
        if url is None:
            url = self._pages.page_url(page_id)
            self._urls.put(page_id, url)
        return url

    def replace_children(self, page_id: str, blocks: list[JSON]) -> bool:
        """Make the page's content `blocks` (a report page regenerated in place), compared over the whole page:
        only what is missing is written, nothing when it matches already. True when something was written (the
        page cache then forgets the page's texts: the next report lists it)."""
        written = self._pages.replace_children(page_id, blocks)
        if written:
            self.page_cache.put_texts(page_id, None, ())
        return written

    # --- sub-pages found by title prefix, through the page cache (a report re-run: one retrieve per page)

    def open_child_page(self, parent_page_id: str, prefix: str) -> PageView | None:
        """The live sub-page whose title starts with `prefix`, with its block texts (cached while current)."""
        view = self._cached_pages.open(parent_page_id, prefix)
        if view is not None and view.url:
            self._urls.put(view.page_id, view.url)
        return view

    def relist_page(self, view: PageView) -> PageView:
        """`view` with its blocks read now (when its texts came from the cache): before rewriting the page."""
        return self._cached_pages.relist(view)

    def create_child_page(
        self, parent_page_id: str, prefix: str, title: str, blocks: list[JSON], *, icon: str | None = None
    ) -> tuple[str, str]:
        """`create_page`, remembering the page under `prefix` and what it holds; (id, url)."""
        page_id, url = self._cached_pages.create(parent_page_id, prefix, title, blocks, icon=icon)
        self._urls.put(page_id, url)
        return page_id, url

    def rewrite_page(self, view: PageView, blocks: list[JSON]) -> bool:
        """`replace_children` against the blocks `view` holds (listed now when they came from the cache)."""
        return self._cached_pages.rewrite(view, blocks)


# Every name below was defined in this module before the split; grouped by the module that owns it now.
__all__ = ["NotionGateway"]
__all__ += ["CallCounter"]
__all__ += ["DEFAULT_SANDBOX_TOKEN", "SANDBOX_BASE_URL"]
__all__ += ["CodecError", "PropertySpec", "SchemaProblem"]
__all__ += ["TYPE_LABELS", "DatabaseRef", "InitReport", "SchemaDiff", "diff_schema", "property_schema"]
__all__ += [
    "RATE_LIMIT_STATUSES",
    "RETRY_STATUSES",
    "SHARE_HINT",
    "NotionAuthError",
    "NotionError",
    "NotionNotFoundError",
    "NotionUnavailableError",
    "NotionValidationError",
    "_RetryableError",
    "_error_from",
]
__all__ += ["MAX_BLOCKS_PER_REQUEST"]
__all__ += [
    "CREATED_ASCENDING",
    "DRY_RUN_PAGE_ID",
    "GATEWAY_OWNED",
    "MAX_OR_CONDITIONS",
    "QUERY_CAP_REASON",
    "Row",
    "RowWrite",
    "RowsRead",
    "UpsertResult",
    "_QueryStatus",
    "_and_filter",
    "_as_datetime",
    "content_hash",
]
__all__ += [
    "MAX_WAIT_S",
    "PAGE_SIZE",
    "SANDBOX_RATE_LIMIT",
    "_chunks",
    "_shared_limiters",
    "_shared_lock",
    "shared_rate_limiter",
]
