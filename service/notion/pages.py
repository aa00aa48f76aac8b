"""Pages and their content: child page lookups, page creation, appending and replacing blocks.

The report writes its sprint page through these; a create that may have landed is found again by title
before it is sent twice. Appends are idempotent too: before an append whose answer was lost is retried, the page's
children are read and the chunk is sent again only when it is not there. A page's content is compared block by
block over the whole page (`signature`), so rewriting a page that already shows the wanted blocks writes nothing,
and a page that was doubled by an older version is rewritten whole.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

from notion_client import Client

from service.notion.calls import blocks_in
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


def signature(block: JSON) -> tuple[str, str]:
    """What identifies a block's content, the same for the block we send and the block Notion returns."""
    return str(block.get("type", "")), block_text(block)


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

    def append(self, block_id: str, blocks: Sequence[JSON], *, existing: int | None = None) -> None:
        """Append `blocks` in chunks of 100. `existing`: how many children `block_id` has before (when known), so
        a chunk whose answer was lost is recognised at its exact place before it is sent again."""
        done = 0
        for chunk in chunks(blocks, MAX_BLOCKS_PER_REQUEST):
            at = None if existing is None else existing + done
            self.session.call(
                "blocks.children.append",
                functools.partial(self.client.blocks.children.append, block_id, children=list(chunk)),
                write=True,
                what=f"adding {len(chunk)} block(s) to {block_id}",
                recover=functools.partial(self._landed, block_id, list(chunk), at),
            )
            self.session.calls.count_blocks(blocks_in(chunk))  # the free plan's lifetime cap counts every block
            done += len(chunk)

    def _landed(self, block_id: str, chunk: list[JSON], at: int | None) -> JSON | None:
        """A non-None answer when `chunk` is already on the page (at index `at`, or at its end when unknown)."""
        children = self.list_children(block_id)
        start = len(children) - len(chunk) if at is None else at
        found = [signature(block) for block in children[start : start + len(chunk)]] if start >= 0 else []
        if found == [signature(block) for block in chunk]:
            return {"object": "list", "results": children[start : start + len(chunk)], "recovered": True}
        return None

    def create_page(
        self, parent_page_id: str, title: str, blocks: list[JSON], *, icon: str | None = None
    ) -> tuple[str, str]:
        """Create a sub-page with content (more than 100 blocks are appended in chunks); (id, url)."""
        page = self.create(parent_page_id, title, blocks, icon=icon)
        return str(page["id"]), str(page.get("url", ""))

    def create(self, parent_page_id: str, title: str, blocks: list[JSON], *, icon: str | None = None) -> JSON:
        """`create_page`, answering Notion's page object. Its `last_edited_time` is None unless the page's content
        was written by that one call (up to 100 blocks, no recovery), since any later write moves it on."""
        kwargs: JSON = {
            "parent": {"type": "page_id", "page_id": parent_page_id},
            "properties": {"title": {"title": encode_rich_text(title)}},
            "children": blocks[:MAX_BLOCKS_PER_REQUEST],
        }
        if icon:
            kwargs["icon"] = {"type": "emoji", "emoji": icon}

        recovered: list[bool] = []

        def already_created() -> JSON | None:
            page_id = self.find_child_page(parent_page_id, title)
            recovered.append(page_id is not None)
            return None if page_id is None else self.read(page_id)

        page = self.session.call(
            "pages.create",
            functools.partial(self.client.pages.create, **kwargs),
            write=True,
            what=f"creating the page {title!r} under {parent_page_id}",
            recover=already_created,
        )
        page_id = str(page["id"])
        if not any(recovered):
            self.session.calls.count_blocks(1 + blocks_in(blocks[:MAX_BLOCKS_PER_REQUEST]))
        if any(recovered):  # an earlier attempt made the page: complete what it holds, never add it twice
            self.replace_children(page_id, blocks)
        else:
            self.append(page_id, blocks[MAX_BLOCKS_PER_REQUEST:], existing=len(blocks[:MAX_BLOCKS_PER_REQUEST]))
        complete = not any(recovered) and len(blocks) <= MAX_BLOCKS_PER_REQUEST
        return {**page, "last_edited_time": page.get("last_edited_time") if complete else None}

    def page_url(self, page_id: str) -> str:
        """The link a person opens (Notion's, or the sandbox's HTML view)."""
        return str(self.read(page_id).get("url", ""))

    def replace_children(self, page_id: str, blocks: list[JSON], current: Sequence[JSON] | None = None) -> bool:
        """Make the page's content `blocks`, checked over the whole page: nothing is written when it shows them
        already, only the missing tail is appended when it holds their beginning (an interrupted write), else the
        content is deleted and written again. `current`: the page's blocks when just listed (else listed here).
        True when something was written."""
        current = self.list_children(page_id) if current is None else current
        have = [signature(block) for block in current]
        want = [signature(block) for block in blocks]
        if have == want:
            return False
        if have and want[: len(have)] == have:
            self.append(page_id, blocks[len(have) :], existing=len(have))
            return True
        for block in current:
            self.session.call(
                "blocks.delete",
                functools.partial(self.client.blocks.delete, str(block["id"])),
                write=True,
                what=f"clearing page {page_id}",
            )
        self.append(page_id, blocks, existing=0)
        return True


__all__ = ["MAX_BLOCKS_PER_REQUEST", "Pages", "block_text", "read_page", "signature"]
