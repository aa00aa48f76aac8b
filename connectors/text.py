"""Text helpers every connector shares: HTML to plain text, a one-line title, and cheap guesses.

The guesses (`guess_kind`, `guess_tags`) are hints for the PM and the scorer, never decisions: the PM owns
the Type select after creation. They are keyword rules on purpose, so a person can predict and fix them.
PII scrubbing and truncation are NOT done here: sync does both, once, for every source.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from connectors.http import SourceConfigError
from connectors.signal import KindHint

_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "div", "dl", "dt", "dd", "fieldset", "figcaption", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "head", "template"})


class _TextExtractor(HTMLParser):
    """Collects text; block elements and <br> become line breaks so paragraphs survive."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag == "br" or tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS and tag != "li":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def normalize_whitespace(text: str) -> str:
    """Collapse runs of spaces inside lines, trim lines, keep at most one blank line between paragraphs."""
    lines = [re.sub(r"[ \t\f\v\u00a0]+", " ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    joined = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", joined).strip()


def html_to_text(html: str) -> str:
    """Plain text from HTML (or from text that merely contains entities); whitespace normalised."""
    if "<" not in html:
        return normalize_whitespace(unescape(html))
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return normalize_whitespace("".join(parser.parts))


def first_line(text: str, limit: int = 200) -> str:
    """The first non-empty line, cut at a word boundary to at most `limit` characters (with an ellipsis)."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = re.sub(r"\s+", " ", line)
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


# Label tokens -> kind, in priority order (a label saying "bug" beats one saying "reliability").
_LABEL_KINDS: tuple[tuple[KindHint, frozenset[str]], ...] = (
    (KindHint.BUG, frozenset({"bug", "bugs", "defect", "crash", "regression", "incident", "problem", "broken"})),
    (KindHint.RELIABILITY, frozenset({"reliability", "sre", "outage", "uptime", "availability", "oncall"})),
    (
        KindHint.COMPLIANCE,
        frozenset({"compliance", "security", "soc2", "hipaa", "baa", "gdpr", "privacy", "legal", "audit"}),
    ),
    (KindHint.TECH_DEBT, frozenset({"debt", "techdebt", "refactor", "refactoring", "cleanup", "flaky", "chore"})),
    (KindHint.FEATURE, frozenset({"feature", "enhancement", "idea", "request", "suggestion"})),
)
_BUG_WORDS = re.compile(
    r"\b(bugs?|buggy|crash(es|ed|ing)?|errors?|broken|breaks|regress(ion|ions|ed)?|fails?|failing|failed)\b",
    re.IGNORECASE,
)


def _label_tokens(label: str) -> set[str]:
    """`type: Bug` -> {type, bug}; `tech-debt` -> {tech, debt, techdebt}; `on-call` -> {on, call, oncall}."""
    lowered = label.lower()
    tokens = set(re.findall(r"[a-z0-9]+", lowered))
    tokens.add(re.sub(r"[^a-z0-9]+", "", lowered))
    return tokens


def guess_kind(*texts: str, labels: Iterable[str] = ()) -> KindHint:
    """Guess the Type: labels/tags first (they are deliberate), then bug words in the text, else Feature."""
    tokens: set[str] = set()
    for label in labels:
        tokens |= _label_tokens(label)
    for kind, words in _LABEL_KINDS:
        if tokens & words:
            return kind
    if any(_BUG_WORDS.search(text) for text in texts if text):
        return KindHint.BUG
    return KindHint.FEATURE


COMPETITORS = ("Retell", "Vapi", "Bland", "Synthflow", "PolyAI", "Air AI", "Voiceflow", "Deepgram Voice Agent")
_COMPETITIVE = re.compile(
    r"\b(" + "|".join(re.escape(name) for name in COMPETITORS) + r")\b"
    r"|\blost (the |this |that |a |our )?(deal|opportunity|renewal)\b|\bclosed[- ]lost\b|\bdeal (was )?lost\b"
    r"|\blost to\b|\bwent with (a |another )?competitor\b",
    re.IGNORECASE,
)
_CHURN = re.compile(
    r"\bchurn(ed|ing|s)?\b|\bnot (going to )?renew(ing)?\b|\bwon'?t renew\b|\bnon-renewal\b"
    r"|\bcancel(l?ing|l?ed|lation|s)?\b.{0,40}\b(subscription|contract|account|plan|pilot|renewal)\b"
    r"|\b(thinking|considering|going|plan|planning|about) (about |to )?cancel"
    r"|\bswitch(ing)? (away|to (a |another )?competitor)\b|\bmoving off\b",
    re.IGNORECASE,
)


def guess_tags(*texts: str) -> tuple[str, ...]:
    """Scorer tags: "competitive-loss" when a competitor or a lost deal is named, "churn-risk" for churn talk."""
    joined = "\n".join(text for text in texts if text)
    tags: list[str] = []
    if _COMPETITIVE.search(joined):
        tags.append("competitive-loss")
    if _CHURN.search(joined):
        tags.append("churn-risk")
    return tuple(tags)


def parse_timestamp(value: object) -> datetime:
    """ISO-8601 (`Z` or offset), a naive ISO string (taken as UTC) or unix seconds -> aware UTC datetime.

    Raises ValueError with a readable message, so callers can report the row and go on.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a timestamp: {value!r}")
    raw = value.strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", raw):
        return datetime.fromtimestamp(float(raw), tz=UTC)
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" UTC", "+00:00"))
    except ValueError:
        raise ValueError(f"unparseable date {raw!r} (expected ISO-8601, e.g. 2026-11-03T14:05:00Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --- export files: every record with the line it starts on, so a bad row is reported as `file:line` ----------


def read_export_text(source: str, path: Path, setting: str) -> str:
    """The export file's text, or a `SourceConfigError` naming the setting when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceConfigError(source, f"{setting}={path} does not exist; fix the path or unset {setting}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceConfigError(source, f"{setting}={path} cannot be read as UTF-8 text ({exc})") from None


def header_key(name: str) -> str:
    """A CSV header as a lookup key: `What do you like best?` -> `what do you like best`."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def csv_records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each CSV data row; keys are `header_key`s, values stripped ("" when the cell is missing).

    The line is where the record starts in the file (header = line 1), also for quoted multi-line cells.
    """
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        keys = [header_key(name) for name in header]
        previous_end = reader.line_num
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            row = {key: (cells[i].strip() if i < len(cells) else "") for i, key in enumerate(keys) if key}
            yield start, row


def json_records(text: str, key: str) -> list[tuple[int | None, Any]] | None:
    """(line, item) for each element of a top-level JSON array, or of the array under the top-level `key`.

    None when the document has neither shape. Raises `json.JSONDecodeError` for invalid JSON. Lines are
    None only if they cannot be located (the items are still returned).
    """
    whole = json.loads(text)
    if isinstance(whole, list):
        items, match = whole, re.search(r"\[", text)
    elif isinstance(whole, dict) and isinstance(whole.get(key), list):
        items, match = whole[key], re.search(r'"' + re.escape(key) + r'"\s*:\s*\[', text)
    else:
        return None
    located = _locate_items(text, match.end() if match else -1)
    if located is not None and len(located) == len(items):
        return located
    return [(None, item) for item in items]


def _locate_items(text: str, pos: int) -> list[tuple[int | None, Any]] | None:
    """Decode array elements one by one from just after `[`, noting each element's starting line."""
    if pos < 0:
        return None
    decoder = json.JSONDecoder()
    separators = re.compile(r"[\s,]*")
    located: list[tuple[int | None, Any]] = []
    line, counted_to = 1, 0
    try:
        while True:
            pos = separators.match(text, pos).end()  # type: ignore[union-attr]  # "*" always matches
            if pos >= len(text) or text[pos] == "]":
                return located
            line += text.count("\n", counted_to, pos)
            counted_to = pos
            item, pos = decoder.raw_decode(text, pos)
            located.append((line, item))
    except json.JSONDecodeError:
        return None


def ndjson_records(text: str) -> Iterator[tuple[int, Any | json.JSONDecodeError]]:
    """(line, item) for each non-empty line; a line that is not JSON yields its decode error instead."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, exc


__all__ = [
    "COMPETITORS",
    "csv_records",
    "first_line",
    "guess_kind",
    "guess_tags",
    "header_key",
    "html_to_text",
    "json_records",
    "ndjson_records",
    "normalize_whitespace",
    "parse_timestamp",
    "read_export_text",
]
