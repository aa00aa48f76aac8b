"""Notion's building blocks as the sandbox needs them: ids, errors, timestamps and rich text.

Everything here answers with Notion's own shapes and messages, because the point of the sandbox is that code
which works against it works against api.notion.com unchanged.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

MAX_TEXT = 2000
MAX_ARRAY = 100

_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
_DASHED = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

DEFAULT_ANNOTATIONS: JSON = {
    "bold": False,
    "italic": False,
    "strikethrough": False,
    "underline": False,
    "code": False,
    "color": "default",
}
COLORS = ("default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red")


class ApiError(Exception):
    """An error answer of the API: HTTP status, Notion error code and message (`{"object": "error", ...}`)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        additional_data: JSON | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.additional_data = additional_data

    def body(self) -> JSON:
        """The error object Notion answers with; `additional_data` only where Notion sends it."""
        out: JSON = {"object": "error", "status": self.status, "code": self.code, "message": self.message}
        if self.additional_data is not None:
            out["additional_data"] = self.additional_data
        return out


def validation(message: str) -> ApiError:
    """400 validation_error: the request is well formed JSON but breaks one of Notion's rules."""
    return ApiError(400, "validation_error", message)


def not_found(kind: str, object_id: str) -> ApiError:
    """404 object_not_found with Notion's wording (it never says whether the object exists but is unshared)."""
    return ApiError(
        404,
        "object_not_found",
        f"Could not find {kind} with ID: {object_id}. "
        "Make sure the relevant pages and databases are shared with your integration.",
    )


def new_id() -> str:
    """A fresh object id, uuid4 with dashes like every id in a Notion response."""
    return str(uuid.uuid4())


def parse_id(raw: Any, where: str) -> str:
    """Accept an id with or without dashes (Notion does) and return the dashed, lower-case form."""
    if isinstance(raw, str):
        text = raw.strip()
        if _DASHED.match(text):
            return text.lower()
        if _HEX32.match(text):
            hex_ = text.lower()
            return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"
    raise validation(f"{where} should be a valid uuid, instead was `{_short_json(raw)}`.")


def looks_like_id(raw: str) -> bool:
    """True for a uuid with or without dashes."""
    return bool(_DASHED.match(raw) or _HEX32.match(raw))


def _short_json(value: Any) -> str:
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- time ----------------------------------------------------------------------------------------------------


def iso_now(now: datetime) -> str:
    """Full-precision UTC timestamp, as stored."""
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def minute_stamp(stored: str) -> str:
    """Notion rounds page/block/data source timestamps down to the minute: `2026-07-04T09:08:00.000Z`."""
    return stored[:16] + ":00.000Z"


def database_stamp(stored: str) -> str:
    """Databases show milliseconds and an offset: `2026-07-04T09:08:57.778+00:00`."""
    return stored[:23] + "+00:00"


def parse_time(value: Any, where: str) -> datetime:
    """An ISO 8601 date or date-time; a date alone means midnight UTC. Naive date-times are UTC."""
    if not isinstance(value, str) or not value:
        raise validation(f"{where} should be a valid ISO 8601 date string, instead was `{_short_json(value)}`.")
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise validation(
            f"{where} should be a valid ISO 8601 date string, instead was `{_short_json(value)}`."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# --- users ---------------------------------------------------------------------------------------------------


def user_ref(user_id: str) -> JSON:
    """`created_by`/`last_edited_by` as Notion shows them: only object and id."""
    return {"object": "user", "id": user_id}


# --- rich text -----------------------------------------------------------------------------------------------


def check_array(value: Any, where: str, limit: int = MAX_ARRAY) -> list[Any]:
    """Arrays in Notion bodies: must be lists of at most `limit` (100) elements."""
    if not isinstance(value, list):
        raise validation(f"{where} should be an array, instead was `{_short_json(value)}`.")
    if len(value) > limit:
        raise validation(f"body failed validation: {where}.length should be ≤ `{limit}`, instead was `{len(value)}`.")
    return value


def rich_text(value: Any, where: str) -> list[JSON]:
    """Normalise request rich text into Notion's response form (type, annotations, plain_text, href)."""
    items = check_array(value, where)
    return [_rich_text_item(item, f"{where}[{index}]") for index, item in enumerate(items)]


def _rich_text_item(item: Any, where: str) -> JSON:
    if not isinstance(item, dict):
        raise validation(f"body failed validation: {where} should be an object, instead was `{_short_json(item)}`.")
    kind = item.get("type") or next((k for k in ("text", "mention", "equation") if k in item), None)
    annotations = {**DEFAULT_ANNOTATIONS, **(item.get("annotations") or {})}
    if kind == "text":
        text = item.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("content"), str):
            raise validation(
                f"body failed validation: {where}.text.content should be defined, instead was `undefined`."
            )
        content: str = text["content"]
        if len(content) > MAX_TEXT:
            raise validation(
                f"body failed validation: {where}.text.content.length should be ≤ `{MAX_TEXT}`, "
                f"instead was `{len(content)}`."
            )
        link = text.get("link")
        url = link.get("url") if isinstance(link, dict) else None
        if isinstance(url, str) and len(url) > MAX_TEXT:
            raise validation(
                f"body failed validation: {where}.text.link.url.length should be ≤ `{MAX_TEXT}`, "
                f"instead was `{len(url)}`."
            )
        return {
            "type": "text",
            "text": {"content": content, "link": {"url": url} if url else None},
            "annotations": annotations,
            "plain_text": content,
            "href": url or None,
        }
    if kind == "equation":
        expression = str((item.get("equation") or {}).get("expression", ""))
        return {
            "type": "equation",
            "equation": {"expression": expression},
            "annotations": annotations,
            "plain_text": expression,
            "href": None,
        }
    if kind == "mention":
        mention = _mention(item.get("mention") or {})
        plain = str(item.get("plain_text") or _mention_text(mention))
        return {"type": "mention", "mention": mention, "annotations": annotations, "plain_text": plain, "href": None}
    raise validation(f"body failed validation: {where} should be a rich text object of type text, mention or equation.")


def _mention(raw: Any) -> JSON:
    """Date mentions answer with all of `start`, `end` and `time_zone`, as Notion's date objects do."""
    mention = dict(raw) if isinstance(raw, dict) else {}
    if mention.get("type") == "date" or "date" in mention:
        date = mention.get("date")
        if not isinstance(date, dict):
            date = {}
        mention["type"] = "date"
        mention["date"] = {"start": date.get("start"), "end": date.get("end"), "time_zone": date.get("time_zone")}
    return mention


def _mention_text(mention: JSON) -> str:
    if mention.get("type") == "date" and mention["date"].get("start"):
        return str(mention["date"]["start"])
    return "@mention"


def plain(items: list[JSON] | None) -> str:
    """The plain text of a rich text array."""
    return "".join(str(item.get("plain_text", "")) for item in items or [])


def text_to_rich(content: str) -> list[JSON]:
    """Rich text for a plain string (used for the workspace's own seed objects)."""
    return rich_text([{"text": {"content": content}}], "seed") if content else []


def slug(title: str) -> str:
    """The title part of a Notion page URL: `Test-Page`."""
    return "-".join(re.findall(r"[A-Za-z0-9]+", title))
