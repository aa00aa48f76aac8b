"""Pages and their content: child page lookups, page creation, appending and replacing blocks.

The report writes its sprint page through these; a create that may have landed is found again by title
before it is sent twice.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

from notion_client import Client

from service.notion.codecs import decode_rich_text, encode_rich_text
from service.notion.session import JSON, PAGE_SIZE, NotionSession, chunks

MAX_BLOCKS_PER_REQUEST = 100  # children per append / create


def read_page(
    client: Client, session: NotionSession, page_id: str, *, filter_properties: list[str] | None = None
) -> JSON:
    """One page object (properties, url, timestamps); only `filter_properties` (ids) when given."""
    extra = {"filter_properties": filter_properties} if filter_properties is not None else {}
    send = functools.partial(client.pages.retrieve, page_id, **extra)
    return session.call("pages.retrieve", send, write=False, what=f"reading page {page_id}")


def block_text(block: JSON) -> str:
    """The plain text of one block's own rich text ("" for blocks without text, such as dividers)."""
    payload = block.get(str(block.get("type", ""))) or {}
    return decode_rich_text(payload.get("rich_text") if isinstance(payload, dict) else None)


def is_live_child_page(block: JSON) -> bool:
    return block.get("type") == "child_page" and not block.get("in_trash") and not block.get("archived")


class Pages:
    """Page and block calls of one gateway."""

    def __init__(self, client: Client, session: NotionSession) -> None:
        self.client = client
        self.session = session

    def iter_children(self, block_id: str) -> Iterator[JSON]:
        yield from self.session.results(
            "blocks.children.list",
            functools.partial(self.client.blocks.children.list, block_id=block_id),
            {"page_size": PAGE_SIZE},
            what=f"listing the content of {block_id}",
        )

    def list_children(self, block_id: str) -> list[JSON]:
        return list(self.iter_children(block_id))

    def find_child_page(
        self, parent_page_id: str, title: str | None = None, *, prefix: str | None = None
    ) -> str | None:
        """The id of the first live sub-page of `parent_page_id` titled `title` (or whose title starts with
        `prefix`), or None. Pages in the trash never match."""
        if (title is None) == (prefix is None):
            raise ValueError("find_child_page needs exactly one of title= or prefix=")
        for block in self.iter_children(parent_page_id):
            if not is_live_child_page(block):
                continue
            name = str((block.get("child_page") or {}).get("title", ""))
            if name == title or (prefix is not None and name.startswith(prefix)):
                return str(block["id"])
        return None

    def page_block_texts(self, page_id: str) -> list[str]:
        """The plain text of each top-level block of the page, in order (e.g. to find a marker the page holds)."""
        return [block_text(block) for block in self.iter_children(page_id)]

    def read(self, page_id: str) -> JSON:
        return read_page(self.client, self.session, page_id)

    def append(self, block_id: str, blocks: Sequence[JSON]) -> None:
        for chunk in chunks(blocks, MAX_BLOCKS_PER_REQUEST):
            self.session.call(
                "blocks.children.append",
                functools.partial(self.client.blocks.children.append, block_id, children=list(chunk)),
                write=True,
                what=f"adding {len(chunk)} block(s) to {block_id}",
            )

    def create_page(
        self, parent_page_id: str, title: str, blocks: list[JSON], *, icon: str | None = None
    ) -> tuple[str, str]:
        """Create a sub-page with content (more than 100 blocks are appended in chunks); (id, url)."""
        kwargs: JSON = {
            "parent": {"type": "page_id", "page_id": parent_page_id},
            "properties": {"title": {"title": encode_rich_text(title)}},
            "children": blocks[:MAX_BLOCKS_PER_REQUEST],
        }
        if icon:
            kwargs["icon"] = {"type": "emoji", "emoji": icon}

        def already_created() -> JSON | None:
            page_id = self.find_child_page(parent_page_id, title)
            return None if page_id is None else self.read(page_id)

        page = self.session.call(
            "pages.create",
            functools.partial(self.client.pages.create, **kwargs),
            write=True,
            what=f"creating the page {title!r} under {parent_page_id}",
            recover=already_created,
        )
        page_id = str(page["id"])
        self.append(page_id, blocks[MAX_BLOCKS_PER_REQUEST:])
        return page_id, str(page.get("url", ""))

    def page_url(self, page_id: str) -> str:
        """The link a person opens (Notion's, or the sandbox's HTML view)."""
        return str(self.read(page_id).get("url", ""))

    def replace_children(self, page_id: str, blocks: list[JSON]) -> None:
        """Delete the page's content and write `blocks` (a report page regenerated in place)."""
        for block in self.list_children(page_id):
            self.session.call(
                "blocks.delete",
                functools.partial(self.client.blocks.delete, str(block["id"])),
                write=True,
                what=f"clearing page {page_id}",
            )
        self.append(page_id, blocks)


__all__ = ["MAX_BLOCKS_PER_REQUEST", "Pages", "block_text", "read_page"]
