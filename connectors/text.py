"""Text helpers every connector shares: HTML to plain text, a one-line title, and cheap guesses.

The guesses (`guess_kind`, `guess_tags`) are hints for the PM and the scorer, never decisions: the PM owns
the Type select after creation. They are keyword rules on purpose, so a person can predict and fix them.
PII scrubbing and truncation are NOT done here: sync does both, once, for every source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser

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


_MS_EPOCH = 100_000_000_000  # an epoch number this large is milliseconds (seconds would be year 5138)


def parse_timestamp(value: object) -> datetime:
    """ISO-8601 (`Z`, offset or date only), a naive ISO string (taken as UTC), or epoch seconds or milliseconds
    (number or digit string) -> aware UTC datetime.

    Raises ValueError with a readable message for what no calendar date can hold (NaN, 1e20, ...), so callers
    can report the row and go on: OverflowError and OSError from `datetime` never escape. A representable but
    implausible date (year 1, 2099, 9999) is NOT refused here: the item is real feedback and is imported; sync
    flags it by name and keeps it from moving the cursor (DESIGN: never lost, cursor never past the run's start).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        parsed = _from_epoch(value)
    elif not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a timestamp: {_short(value)} (expected ISO-8601, e.g. 2026-11-03T14:05:00Z)")
    else:
        parsed = _from_text(value.strip())
    return parsed


def _from_epoch(value: float) -> datetime:
    try:
        seconds = value / 1000 if abs(value) >= _MS_EPOCH else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"timestamp {_short(value)} is not a usable epoch time (seconds or milliseconds)") from None


def _from_text(raw: str) -> datetime:
    if re.fullmatch(r"\d{9,13}(\.\d+)?", raw):
        return _from_epoch(float(raw))
    us = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?", raw)
    if us:  # Google Sheets / Excel US locale: 11/2/2026 18:30:00 (month first)
        month, day, year, hour, minute, second = (int(part) if part else 0 for part in us.groups())
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            raise ValueError(f"unparseable date {_short(raw)} (expected month/day/year)") from None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" UTC", "+00:00"))
    except ValueError:
        raise ValueError(f"unparseable date {_short(raw)} (expected ISO-8601, e.g. 2026-11-03T14:05:00Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"timestamp {_short(raw)} is outside the calendar; fix the date in the export") from None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_MAX_ID = 2**63


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
MAX_ID_LENGTH = 128  # longer is no tool's id (and int() refuses strings of over 4,300 digits with a ValueError)


def parse_id(value: object) -> str | None:
    """An external id: an int, or an ASCII token (digits, letters, `_`, `-`); a number must be in 1..2**63.

    Python's `int()` accepts `' 35436 '`, `'٣٥٤٣٦'` and `'3_5'`; a Source Key must not (and a comma, space or
    slash in a key breaks links and lookups), so this is strict.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if 0 < value < _MAX_ID else None
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or not value.isascii() or not _ID.fullmatch(value):
        return None
    if value.isdigit():
        return str(int(value)) if 0 < int(value) < _MAX_ID else None
    return value


def describe_id(value: object) -> str:
    """Why `parse_id` refused a value, for the row's problem."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "the id is missing; every row needs its source id"
    rule = f"up to {MAX_ID_LENGTH} ASCII digits or letters, no spaces, commas or slashes"
    return f"id {_short(value)} is not a plain id ({rule}); fix it in the export"


_MAX_VOTES = 10_000_000


def parse_votes(value: object) -> tuple[int | None, str | None]:
    """(votes, problem): a count between 0 and 10 million, or (None, why) for negative, huge or non-integer."""
    if value is None or value == "":
        return None, None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 12:
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_VOTES:
        return value, None
    return None, f"vote count {_short(value)} is not a count between 0 and {_MAX_VOTES:,}; left empty"


__all__ = [
    "COMPETITORS",
    "describe_id",
    "first_line",
    "guess_kind",
    "guess_tags",
    "html_to_text",
    "normalize_whitespace",
    "parse_id",
    "parse_timestamp",
    "parse_votes",
]
