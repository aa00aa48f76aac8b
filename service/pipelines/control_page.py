"""`backlog init`'s "backlog control" page: where the PM finds what to paste into each Notion button.

Notion's API cannot create buttons or database views, so the service writes the recipe and the PM clicks it
together once (docs/buttons.md). The page is created once, under the parent page; a later `init` finds it by
its title and writes nothing, so the buttons the PM adds to it are never touched. The token itself is never
written to Notion: the page names the setting that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.logging import get_logger
from service.notion import NotionGateway
from service.settings import Settings

log = get_logger(__name__)

CONTROL_PAGE_TITLE = "backlog control"
PLACEHOLDER_URL = "https://YOUR-BACKLOG-SERVE-HOST"  # shown until BACKLOG_PUBLIC_URL is set
TOKEN_HEADER = "X-Backlog-Token"  # noqa: S105 - a header name, not a secret (actions.TOKEN_HEADER)

Block = dict[str, Any]


@dataclass(frozen=True)
class Button:
    """One Notion button: its label, the path on `backlog serve` it sends to, and what pressing it does."""

    label: str
    path: str
    does: str


BUTTONS = (
    Button("Sync now", "/actions/sync", "reads every source into backlog-candidates, then rescores it."),
    Button(
        "Rescore",
        "/actions/rescore",
        "on this page it rescores the whole backlog; as a Button property of backlog-candidates it rescores "
        "the row it is pressed on.",
    ),
    Button(
        "Plan sprint",
        "/actions/report?sprint=N",
        "plans sprint N and writes its page here. Replace N with the sprint number (or leave it out of the URL "
        "and add a second header X-Backlog-Sprint with the number).",
    ),
)


@dataclass(frozen=True)
class ControlPage:
    page_id: str | None
    url: str | None
    action: str  # created | found | would create


def public_url(settings: Settings) -> str:
    return (settings.backlog_public_url or PLACEHOLDER_URL).rstrip("/")


def _text(content: str, *, code: bool = False) -> list[dict[str, Any]]:
    annotations = {"code": True} if code else {}
    return [{"type": "text", "text": {"content": content}, "annotations": annotations}]


def _block(kind: str, content: str, **extra: Any) -> Block:
    return {"object": "block", "type": kind, kind: {"rich_text": _text(content), **extra}}


def _paste(content: str) -> Block:
    return _block("code", content, language="plain text")


def control_blocks(settings: Settings) -> list[Block]:
    """Pure: the page's content for these settings."""
    base = public_url(settings)
    blocks: list[Block] = [
        _block(
            "callout",
            "Written once by `backlog init`. Notion's API cannot create buttons, so add them here yourself "
            "(docs/buttons.md); this page is never rewritten, so your buttons stay.",
            icon={"type": "emoji", "emoji": "🎛️"},
        ),
    ]
    if not settings.backlog_public_url:
        blocks.append(
            _block(
                "paragraph",
                f"BACKLOG_PUBLIC_URL is not set: replace {PLACEHOLDER_URL} below with the public "
                "HTTPS address of `backlog serve` (docs/going-live.md).",
            )
        )
    blocks += [
        _block("heading_2", "The buttons"),
        _block(
            "paragraph",
            "For each one: type /button (or + New button), name it, Add action > Send webhook, paste the URL, "
            f"then Add custom header: key {TOKEN_HEADER}, value = the BACKLOG_API_TOKEN of the service (ask "
            "whoever runs it; never write it on a page).",
        ),
    ]
    for button in BUTTONS:
        blocks += [
            _block("heading_3", button.label),
            _block("paragraph", f"Pressing it {button.does}"),
            _paste(base + button.path),
        ]
    blocks += _view_blocks()
    return blocks


def _view_blocks() -> list[Block]:
    """The ranked view (docs/priority.md): Notion's API cannot create views either."""
    steps = [
        "Open backlog-candidates, + Add a view > Table, name it Ranking.",
        "Sort: Priority, Descending. No second sort: the number already breaks ties.",
        "Filter: Priority is not empty (hides closed, merged, P1/P2 and unscorable rows).",
        "Show Name, RICE, Priority, Status, OKR, Strategic Override and Score Note.",
    ]
    return [
        _block("heading_2", "The ranked view"),
        *(_block("numbered_list_item", step) for step in steps),
        _block("paragraph", "Row 1 of that view is rank 1. Why the Priority number sorts so: docs/priority.md."),
    ]


def ensure_control_page(gateway: NotionGateway, settings: Settings, *, dry_run: bool = False) -> ControlPage:
    """Find the control page under the parent page by its title, or create it. Found: no write at all."""
    parent = gateway.parent_page_id()
    found = gateway.find_child_page(parent, CONTROL_PAGE_TITLE)
    if found:
        return ControlPage(found, gateway.page_url(found), "found")
    if dry_run:
        return ControlPage(None, None, "would create")
    page_id, url = gateway.create_page(parent, CONTROL_PAGE_TITLE, control_blocks(settings), icon="🎛️")
    log.info("init.control_page_created", page_id=page_id, public_url=bool(settings.backlog_public_url))
    return ControlPage(page_id, url, "created")
