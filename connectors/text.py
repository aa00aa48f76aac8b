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


__all__ = [
    "COMPETITORS",
    "first_line",
    "guess_kind",
    "guess_tags",
    "html_to_text",
    "normalize_whitespace",
    "parse_timestamp",
]
