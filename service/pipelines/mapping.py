"""Translations between the three shapes of a backlog row: `Signal` (source), `RowWrite` (sync), `Candidate` (scorer).

Pure functions: no Notion calls here; the gateway does the I/O and the codecs do the JSON.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import structlog

from connectors.salesforce import LOST_TAGS
from connectors.signal import Signal, SourceName
from scoring.models import Candidate
from scoring.policy import Policy
from service.notion import Row, RowWrite

log = structlog.get_logger(__name__)

EXCERPT_LIMIT = 1900  # leaves room for the "full text" link inside one 2000-char rich text element
NAME_LIMIT = 200
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w/#=-])\+?\d[\d ().-]{7,}\d(?![\w/-])")
# Secret-looking tokens, always replaced (whatever BACKLOG_SCRUB_PII says): a pasted credential in a ticket
# must not become readable by the whole company. Each pattern has a test in test_mapping_safety.py.
_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S)),
    ("aws key", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})\b")),
    ("notion token", re.compile(r"\bntn_[A-Za-z0-9]{20,}")),
    ("slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("stripe key", re.compile(r"\b[rsp]k_(live|test)_[A-Za-z0-9]{16,}\b")),
    ("bearer token", re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{8,}=*", re.I)),
    (
        "password",
        re.compile(
            r"\b(password|passwd|pwd|client_secret|secret|api[_-]?key|access_token|auth_token)\s*[=:]\s*[^\s,;]+", re.I
        ),
    ),
)
# C0/C1 controls (newline kept where text may have lines), bidi overrides, zero-width space and BOM.
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069\ufeff]")
_FORMULA_START = tuple("=+-@\t\r\uff1d\uff0b\uff0d\uff20")  # fullwidth forms: spreadsheets fold them


def scrub_pii(text: str) -> str:
    """Replace email addresses and phone numbers: excerpts are read by the whole company in Notion."""
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub(lambda m: "[phone]" if sum(c.isdigit() for c in m.group(0)) >= 9 else m.group(0), text)


def scrub_secrets(text: str) -> str:
    """Replace secret-looking tokens (AWS, GitHub, Slack, Stripe, Bearer, password=..., private keys)."""
    for name, pattern in _SECRETS:
        text = pattern.sub(f"[{name} removed]", text)
    return text


def safe_text(text: str, *, scrub: bool, lines: bool = False) -> str:
    """A text property as it may reach Notion: no control characters, no secrets (no PII when `scrub`), and
    never starting with a formula character (a CSV export of the database opened in a spreadsheet stays inert)."""
    cleaned = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    if not lines:
        cleaned = cleaned.replace("\n", " ")
    cleaned = scrub_secrets(cleaned)
    if scrub:
        cleaned = scrub_pii(cleaned)
    return defuse_formula(cleaned.strip())


def defuse_formula(text: str) -> str:
    """`=HYPERLINK(...)` -> `'=HYPERLINK(...)`: the apostrophe makes spreadsheets show the text as text."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def safe_url(url: str | None, source_key: str) -> str | None:
    """Only http(s) URLs with a host reach the URL property; anything else is dropped and logged."""
    if not url:
        return None
    candidate = _CONTROLS.sub("", url).strip()
    try:
        parts = urlsplit(candidate)
    except ValueError:
        parts = None
    if parts is not None and parts.scheme.lower() in ("http", "https") and parts.netloc:
        return candidate
    scheme = parts.scheme.lower() if parts is not None and parts.scheme else "no scheme"
    log.warning("sync.url_dropped", source_key=source_key, scheme=scheme, fix="only http(s) URLs are kept")
    return None


def excerpt(text: str, url: str | None, *, scrub: bool) -> str:
    """The Excerpt property: made safe, whitespace kept, cut to fit one Notion text element with a pointer."""
    cleaned = safe_text(text, scrub=scrub, lines=True)
    if len(cleaned) <= EXCERPT_LIMIT:
        return cleaned
    tail = f" … (full text: {url})" if url else " … (truncated)"
    return cleaned[: EXCERPT_LIMIT - len(tail)].rstrip() + tail


def segment_for(customer: str | None, policy: Policy) -> str:
    """Customer -> Segment select, from `backlog.toml`'s account lists (case-insensitive; domains for Internal)."""
    if not customer:
        return "Unknown"
    name = customer.strip().lower()
    seg = policy.segments
    if any(name == acct.lower() for acct in seg.enterprise_pilots):
        return "Enterprise pilot"
    if any(name == acct.lower() for acct in seg.trials):
        return "Trial"
    if any(
        name == domain.lower() or name.endswith(("@" + domain.lower(), "." + domain.lower()))
        for domain in seg.internal_domains
    ):
        return "Internal"
    if any(name == acct.lower() for acct in seg.free):
        return "Free"
    return "Unknown"


def signal_to_write(signal: Signal, policy: Policy, *, scrub: bool) -> RowWrite:
    """What sync wants the row of `signal` to say. Status/Type are set once, on create; then they are the PM's."""
    segment = signal.segment or segment_for(signal.customer, policy)
    customer = signal.customer
    if customer and scrub and "@" in customer:
        customer = customer.split("@", 1)[1]  # an email as "customer" becomes its domain
    url = safe_url(signal.url, signal.source_key)
    properties: dict[str, Any] = {
        "Name": defuse_formula(safe_text(signal.title, scrub=scrub)[:NAME_LIMIT].strip()) or "(untitled)",
        "Source": signal.source.label,
        "Source URL": url,
        "Excerpt": excerpt(signal.text, url, scrub=scrub),
        "Customer": safe_text(customer, scrub=scrub) or None if customer else None,
        "Segment": segment,
        "Votes": signal.votes,
        "First Seen": signal.created_at,
        "Last Seen": signal.updated_at,
    }
    if signal.amount is not None:
        properties["Deal Amount"] = signal.amount  # only on deals: every other row's Content Hash stays as it was
    create_only: dict[str, Any] = {"Status": "New"}
    if signal.kind_hint is not None:
        create_only["Type"] = signal.kind_hint.value
    return RowWrite(source_key=signal.source_key, properties=properties, create_only=create_only)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _num(value: Any) -> str | None:
    """A select value as the PM typed it; numbers (an adopted Number property) become their text."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _tuple(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _tags(source: str | None) -> tuple[str, ...]:
    """A lost deal is competitive-loss evidence by its Source, not by a keyword in its Excerpt."""
    return LOST_TAGS if source and source.casefold() == SourceName.SALESFORCE.label.casefold() else ()


def row_to_candidate(row: Row) -> Candidate:
    """The scorer's view of a Notion row."""
    get = row.values.get
    rice = get("RICE")
    source = _text(get("Source"))
    return Candidate(
        page_id=row.page_id,
        name=_text(get("Name")) or "",
        url=row.url,
        source_key=_text(get("Source Key")),
        source=source,
        source_url=_text(get("Source URL")),
        excerpt=_text(get("Excerpt")) or "",
        customer=_text(get("Customer")),
        segment=_text(get("Segment")),
        votes=_int(get("Votes")),
        deal_amount=_float(get("Deal Amount")),
        first_seen=_as_date(get("First Seen")),
        last_seen=_as_date(get("Last Seen")),
        status=_text(get("Status")),
        type=_text(get("Type")),
        reach=_num(get("Reach")),
        impact=_num(get("Impact")),
        confidence=_num(get("Confidence")),
        effort=_num(get("Effort")),
        severity=_text(get("Severity")),
        okrs=_tuple(get("OKR")),
        strategic_override=bool(get("Strategic Override")),
        blocked_by=_text(get("Blocked By")),
        merged_into=_tuple(get("Merged Into")),
        possible_duplicate=_tuple(get("Possible Duplicate")),
        validation_customer=_text(get("Validation Customer")),
        owners=_tuple(get("Owner")),
        rice=_float(rice),
        rank=_int(get("Rank")),
        score_note=_text(get("Score Note")) or "",
        sprint=_int(get("Sprint")),
        sprints_waiting=_int(get("Sprints Waiting")),
        tags=_tags(source),
    )
