"""Lost-deal evidence of a row and the rows merged into it: how many deals, what they were worth, lost to what.

A lost deal (a Salesforce row, or a row tagged `lost-deal`) is competitive-loss evidence by what it is, not by a
keyword in its text, so the candidate it is merged into gets the policy's competitive-loss boost and the note and
the summary can quote the money ("lost 2 deals worth $420k to latency"). Row-local like Priority: only the row
and the rows merged into it count (docs/priority.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scoring.evidence import merged_family
from scoring.models import Candidate

LOST_DEAL_SOURCE = "Salesforce"
LOST_DEAL_TAG = "lost-deal"
# Loss-reason themes named in the line ("to latency"), found in the loss-reason text; first match wins per deal.
REASON_THEMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("latency", ("latency", "slow", "lag", "response time", "talked over", "delay")),
    ("pricing", ("price", "pricing", "cost", "expensive", "cheaper")),
    ("integrations", ("integration", "connector", "crm", "api")),
    ("security and compliance", ("security", "compliance", "soc 2", "soc2", "hipaa", "gdpr", "sso")),
    ("voice quality", ("voice quality", "accent", "accuracy", "transcription")),
    ("budget", ("budget", "no funding", "fiscal")),
)
_AMOUNT = re.compile(r"Amount:\s*\$([\d,]+(?:\.\d+)?)")
_WORDS = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


@dataclass(frozen=True)
class LostDeals:
    """The lost deals behind one candidate: the rows, their summed amount (known amounts only), the reasons."""

    deals: tuple[Candidate, ...]
    amount: float  # sum of the known amounts
    unknown_amounts: int  # deals without an amount
    reasons: tuple[str, ...]  # themes, most deals first, then alphabetical

    @property
    def count(self) -> int:
        return len(self.deals)

    def short(self) -> str:
        """`2 lost deals ($420k)`: the Score Note's competitive-loss reason."""
        plural = "deal" if self.count == 1 else "deals"
        worth = f" ({money_short(self.amount)})" if self.amount else ""
        return f"{self.count} lost {plural}{worth}"


def _norm_tag(tag: str) -> str:
    return re.sub(r"[\s_]+", "-", tag.strip().casefold())


def is_lost_deal(candidate: Candidate) -> bool:
    """By Source (Salesforce) or the `lost-deal` tag; never by a keyword in the text."""
    if (candidate.source or "").strip().casefold() == LOST_DEAL_SOURCE.casefold():
        return True
    return any(_norm_tag(tag) == LOST_DEAL_TAG for tag in candidate.tags)


def deal_amount(candidate: Candidate) -> float | None:
    """Deal Amount, else the `Amount: $240,000` the Excerpt carries (rows synced before Deal Amount existed)."""
    if candidate.deal_amount is not None:
        return candidate.deal_amount
    found = _AMOUNT.search(candidate.excerpt)
    return float(found.group(1).replace(",", "")) if found else None


def loss_reason(candidate: Candidate) -> str:
    """The loss-reason text: the name without its `Lost deal:` prefix (the connector titles rows that way)."""
    name = candidate.name.strip()
    return name[len("lost deal:") :].strip() if name.casefold().startswith("lost deal:") else name


def reason_theme(text: str) -> str | None:
    """`Lost to PolyAI: first-response latency ...` -> `latency`; None when no theme matches."""
    words = " " + " ".join(_WORDS.findall(text.casefold().replace("-", " "))) + " "
    for theme, needles in REASON_THEMES:
        if any(f" {needle} " in words for needle in needles):
            return theme
    return None


def lost_deal_evidence(candidate: Candidate, children: Mapping[str, Sequence[Candidate]]) -> LostDeals | None:
    """The lost deals among the row and the rows merged into it; None when there are none."""
    deals = tuple(row for row in merged_family(candidate, children) if is_lost_deal(row))
    if not deals:
        return None
    amounts = [deal_amount(deal) for deal in deals]
    counts: dict[str, int] = {}
    for deal in deals:
        theme = reason_theme(loss_reason(deal))
        if theme is not None:
            counts[theme] = counts.get(theme, 0) + 1
    reasons = tuple(sorted(counts, key=lambda theme: (-counts[theme], theme)))
    known = [amount for amount in amounts if amount is not None]
    return LostDeals(deals=deals, amount=sum(known), unknown_amounts=len(amounts) - len(known), reasons=reasons)


def money_short(amount: float) -> str:
    """$950, $9.5k, $240k, $1.2M: the money as a sentence says it."""
    if amount >= 999_500:
        return f"${_one_decimal(amount / 1_000_000)}M"
    if amount >= 9_999.5:
        return f"${amount / 1000:.0f}k"
    if amount >= 1000:
        return f"${_one_decimal(amount / 1000)}k"
    return f"${amount:.0f}"


def _one_decimal(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def lost_deal_line(candidate: Candidate, children: Mapping[str, Sequence[Candidate]]) -> str | None:
    """`lost 3 deals worth $420k to latency`; None when the row has no lost-deal evidence."""
    deals = lost_deal_evidence(candidate, children)
    if deals is None:
        return None
    line = f"lost {deals.count} {'deal' if deals.count == 1 else 'deals'}"
    if deals.amount:
        line += f" worth {money_short(deals.amount)}"
        if deals.unknown_amounts:
            line += f" (+{deals.unknown_amounts} of unknown amount)"
    if deals.reasons:
        line += f" to {_and(deals.reasons)}"
    return line


__all__ = [
    "LOST_DEAL_SOURCE",
    "LOST_DEAL_TAG",
    "LostDeals",
    "deal_amount",
    "is_lost_deal",
    "loss_reason",
    "lost_deal_evidence",
    "lost_deal_line",
    "money_short",
    "reason_theme",
]
