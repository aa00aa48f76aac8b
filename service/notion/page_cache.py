"""Sprint pages found before, and the text of their blocks, kept on disk so that a report re-run with nothing new
reads one page object per page instead of listing the parent page and the page's blocks (issue 12).

`BACKLOG_CACHE_DIR/sprint-pages.json`. Disposable: deleting it changes nothing but the call count. The rules:
- a page id is kept per (parent, title prefix); it is used only while Notion says the page is live, under that
  parent and still titled so (otherwise the page is found again by listing the parent);
- a page's block texts are kept with the page's last_edited_time when they were read (or written) and the local
  time they were known. They are used only when Notion's last_edited_time is still the same AND that minute was
  over, with a margin for clock skew, before they were known: Notion stamps edits to the minute, so an edit in
  the same minute as the read would not change the stamp;
- texts this host wrote (the page made, or rewritten) are kept with this integration's user id and the local time
  the write ended. They are used while Notion says the page was last edited by this integration, no later than
  that time (with the skew margin): an edit by anyone else after ours, even in the same minute, makes the PM
  (or whoever) the page's last editor. So the re-run right after a report needs no listing either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from service.logging import get_logger
from service.notion.codecs import decode_rich_text
from service.notion.errors import NotionNotFoundError
from service.notion.pages import Pages, block_text, is_live_child_page
from service.notion.session import JSON

log = get_logger(__name__)
FILE_NAME = "sprint-pages.json"
VERSION = 1
# Texts read within this long after the page's last edit (its minute's end) are not trusted: Notion's stamps
# have minute precision and this host's clock may differ from Notion's a little.
SKEW = timedelta(minutes=1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def parse_stamp(text: str) -> datetime | None:
    """Notion's ISO timestamp ("2026-11-21T08:00:00.000Z") as an aware datetime, or None."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PageView:
    """A page as a report sees it: id, link, the plain text of each top-level block; `blocks` when this run
    listed them (their ids are needed to rewrite the page), None when the texts came from the cache."""

    page_id: str
    url: str
    texts: tuple[str, ...]
    blocks: tuple[dict[str, Any], ...] | None = None


class PageCache:
    """sprint-pages.json. Every method fails soft: an unreadable file is an empty cache, a failed write a log line."""

    def __init__(self, path: Path, now: Callable[[], datetime] = _utc_now) -> None:
        self.path = path
        self.now = now  # tests move it on, as a later run would be

    def _load(self) -> dict[str, Any]:
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = None
        if not isinstance(saved, dict) or saved.get("version") != VERSION:
            return {"version": VERSION, "children": {}, "pages": {}, "editor": None}
        saved.setdefault("children", {})
        saved.setdefault("pages", {})
        return saved

    def _save(self, saved: dict[str, Any]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{id(self)}.tmp")
            tmp.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as exc:
            log.warning("cache.write_failed", path=str(self.path), error=str(exc))

    @staticmethod
    def _key(parent_page_id: str, prefix: str) -> str:
        return f"{parent_page_id.replace('-', '')}|{prefix}"

    def child(self, parent_page_id: str, prefix: str) -> str | None:
        """The page id last found (or made) under `parent_page_id` with a title starting with `prefix`."""
        found = self._load()["children"].get(self._key(parent_page_id, prefix))
        return str(found) if found else None

    def put_child(self, parent_page_id: str, prefix: str, page_id: str) -> None:
        saved = self._load()
        saved["children"][self._key(parent_page_id, prefix)] = page_id
        self._save(saved)

    def texts(self, page_id: str, last_edited_time: str, last_edited_by: str | None = None) -> list[str] | None:
        """The cached block texts of the page, when they are known to be its content now (see the module doc)."""
        entry = self._load()["pages"].get(page_id)
        edited = parse_stamp(last_edited_time)
        if not isinstance(entry, dict) or edited is None or not isinstance(entry.get("texts"), list):
            return None
        texts = [str(t) for t in entry["texts"]]
        own = entry.get("own")
        if isinstance(own, dict) and last_edited_by and _same_id(own.get("by"), last_edited_by):
            until = parse_stamp(str(own.get("until", "")))
            if until is not None and edited <= until + SKEW:
                return texts  # the last edit is this integration's, and none came after the write recorded here
        seen = parse_stamp(str(entry.get("seen", "")))
        if entry.get("edited") != last_edited_time or seen is None:
            return None
        minute_over = edited.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return texts if seen >= minute_over + SKEW else None

    def editor(self) -> str | None:
        """This integration's user id, as the answer to a page it made showed it (None until then)."""
        found = self._load().get("editor")
        return str(found) if found else None

    def put_own(self, page_id: str, texts: Sequence[str], editor: str | None) -> None:
        """Remember what this host just wrote on the page (as `editor`, this integration's user); with no known
        editor, forget the page's texts instead (the next run lists it)."""
        saved = self._load()
        if not editor:
            saved["pages"].pop(page_id, None)
        else:
            saved["editor"] = editor
            until = self.now().isoformat()
            saved["pages"][page_id] = {"own": {"by": editor, "until": until}, "texts": list(texts)}
        self._save(saved)

    def put_texts(
        self, page_id: str, last_edited_time: str | None, texts: Sequence[str], *, seen: datetime | None = None
    ) -> None:
        """Remember the page's block texts, known to be its content from `seen` on (now by default); with no
        known last_edited_time, forget them instead."""
        saved = self._load()
        if last_edited_time is None:
            saved["pages"].pop(page_id, None)
        else:
            known = (seen or self.now()).isoformat()
            saved["pages"][page_id] = {"edited": last_edited_time, "seen": known, "texts": list(texts)}
        self._save(saved)

    def forget(self, page_id: str) -> None:
        """The page is gone (trash, 404) or not the one wanted: drop it and every lookup that led to it."""
        saved = self._load()
        saved["pages"].pop(page_id, None)
        saved["children"] = {k: v for k, v in saved["children"].items() if v != page_id}
        self._save(saved)


def _page_title(page: JSON) -> str:
    title = (page.get("properties") or {}).get("title") or {}
    return decode_rich_text(title.get("title") if isinstance(title, dict) else None)


def _same_id(a: object, b: str) -> bool:
    return str(a or "").replace("-", "") == b.replace("-", "")


def _user_id(user: object) -> str | None:
    """The id of a `created_by` / `last_edited_by` user reference, or None."""
    found = user.get("id") if isinstance(user, dict) else None
    return str(found) if found else None


class CachedPages:
    """Sub-pages found by title prefix, through the cache: one `pages.retrieve` when nothing changed."""

    def __init__(self, pages: Pages, cache: PageCache) -> None:
        self.pages = pages
        self.cache = cache

    def open(self, parent_page_id: str, prefix: str) -> PageView | None:
        """The live sub-page of `parent_page_id` whose title starts with `prefix`, with its block texts; None when
        there is none. The cached page id is checked with one retrieve (trash, 404, moved, renamed: found again
        by listing the parent); its texts come from the cache when still current, else from a listing."""
        cached = self.cache.child(parent_page_id, prefix)
        page = self._retrieve(cached) if cached else None
        if cached and (page is None or not self._matches(page, parent_page_id, prefix)):
            self.cache.forget(cached)
            page = None
        if page is None:
            found = self.pages.find_child_page(parent_page_id, prefix=prefix)
            if found is None:
                return None
            self.cache.put_child(parent_page_id, prefix, found)
            return self._listed(found, "", None)
        page_id, edited = str(page["id"]), str(page.get("last_edited_time", ""))
        texts = self.cache.texts(page_id, edited, _user_id(page.get("last_edited_by")))
        if texts is None:
            return self._listed(page_id, str(page.get("url", "")), edited)
        return PageView(page_id, str(page.get("url", "")), tuple(texts))

    def _retrieve(self, page_id: str) -> JSON | None:
        try:
            return self.pages.read(page_id)
        except NotionNotFoundError:
            return None

    @staticmethod
    def _matches(page: JSON, parent_page_id: str, prefix: str) -> bool:
        parent = page.get("parent") or {}
        return (
            is_live_child_page({**page, "type": "child_page"})
            and _same_id(parent.get("page_id"), parent_page_id)
            and _page_title(page).startswith(prefix)
        )

    def _listed(self, page_id: str, url: str, edited: str | None) -> PageView:
        """The page's blocks listed now; their texts cached under `edited` (the stamp read just before)."""
        seen = self.cache.now()
        blocks = tuple(self.pages.iter_children(page_id))
        texts = tuple(block_text(block) for block in blocks)
        self.cache.put_texts(page_id, edited, texts, seen=seen)
        return PageView(page_id, url, texts, blocks)

    def relist(self, view: PageView) -> PageView:
        """`view` with its blocks (listed now when its texts came from the cache): what a rewrite needs."""
        if view.blocks is not None:
            return view
        blocks = tuple(self.pages.iter_children(view.page_id))
        return PageView(view.page_id, view.url, tuple(block_text(block) for block in blocks), blocks)

    def create(
        self, parent_page_id: str, prefix: str, title: str, blocks: list[JSON], *, icon: str | None = None
    ) -> tuple[str, str]:
        """Create the sub-page (one call for up to 100 blocks) and remember it and what it holds."""
        page = self.pages.create(parent_page_id, title, blocks, icon=icon)
        page_id = str(page["id"])
        self.cache.put_child(parent_page_id, prefix, page_id)
        editor = _user_id(page.get("last_edited_by")) or _user_id(page.get("created_by"))
        self.cache.put_own(page_id, [block_text(block) for block in blocks], editor)
        return page_id, str(page.get("url", ""))

    def rewrite(self, view: PageView, blocks: list[JSON]) -> bool:
        """Make the page's content `blocks` (compared with the blocks just listed) and remember it as this host's
        write (by the integration user a page it made showed; unknown: its texts are dropped)."""
        current = self.relist(view).blocks
        written = self.pages.replace_children(view.page_id, blocks, current=current)
        if written:
            self.cache.put_own(view.page_id, [block_text(block) for block in blocks], self.cache.editor())
        return written


__all__ = ["FILE_NAME", "SKEW", "CachedPages", "PageCache", "PageView", "parse_stamp"]
