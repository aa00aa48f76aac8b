"""The seed's step 3 as data: OKR alignment, competitive-loss and churn-risk boosts, and the Icebox rule.

Boosts multiply the score into a priority value; they never change the RICE the PM sees. An OKR the policy
does not know is reported, not silently used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scoring.deals import LostDeals, lost_deal_evidence
from scoring.models import Candidate
from scoring.policy import Policy
from scoring.scales import num

COMPETITIVE_LOSS_TAG = "competitive-loss"
CHURN_RISK_TAG = "churn-risk"
_OKR_TOKEN = re.compile(r"\s*([A-Za-z]+\d+)\b")


@dataclass(frozen=True)
class StrategyFit:
    """What the strategic lens says about one row."""

    okrs: tuple[str, ...]  # known OKR keys, in policy order
    unknown_okrs: tuple[str, ...]
    competitive_loss: str | None  # why ("2 lost deals ($420k)", "tag competitive-loss", "keyword 'switched to'")
    churn_risk: str | None
    multiplier: float
    boosts: tuple[str, ...]  # "OKR O2 ×1.5", ...
    lost_deals: LostDeals | None = None  # the row's and its merged rows' lost deals

    @property
    def has_signal(self) -> bool:
        """Maps to an OKR, a competitive loss or a churn risk: the seed's reasons to keep an item out of Icebox."""
        return bool(self.okrs or self.competitive_loss or self.churn_risk)


def _normal_tag(tag: str) -> str:
    return re.sub(r"[\s_]+", "-", tag.strip().casefold())


def _match_okr(raw: str, policy: Policy) -> str | None:
    """ "O2" or "o2 – latency" -> "O2" when the policy knows it."""
    known = {key.casefold(): key for key in policy.strategy.okrs}
    if raw.strip().casefold() in known:
        return known[raw.strip().casefold()]
    token = _OKR_TOKEN.match(raw)
    return known.get(token.group(1).casefold()) if token else None


def _signal(candidate: Candidate, tag: str, keywords: list[str]) -> str | None:
    if any(_normal_tag(existing) == tag for existing in candidate.tags):
        return f"tag {tag}"
    text = f"{candidate.name}\n{candidate.excerpt}".casefold()
    hit = next((word for word in keywords if word.strip() and word.strip().casefold() in text), None)
    return None if hit is None else f"keyword {hit.strip()!r}"


def strategic_fit(
    candidate: Candidate, policy: Policy, children: Mapping[str, Sequence[Candidate]] | None = None
) -> StrategyFit:
    """Pass `children` (evidence.merged_children of all rows) so lost deals merged into the row count."""
    strategy = policy.strategy
    okrs: list[str] = []
    unknown: list[str] = []
    for raw in candidate.okrs:
        key = _match_okr(raw, policy)
        if key is None:
            unknown.append(raw)
        elif key not in okrs:
            okrs.append(key)
    order = list(strategy.okrs)
    okrs.sort(key=order.index)
    deals = lost_deal_evidence(candidate, children or {})
    keywords = strategy.competitive_loss_keywords
    competitive = deals.short() if deals else _signal(candidate, COMPETITIVE_LOSS_TAG, keywords)
    churn = _signal(candidate, CHURN_RISK_TAG, strategy.churn_risk_keywords)
    multiplier = 1.0
    boosts: list[str] = []
    if okrs:
        multiplier *= strategy.okr_boost
        boosts.append(f"OKR {'+'.join(okrs)} ×{num(strategy.okr_boost)}")
    if competitive:
        multiplier *= strategy.competitive_loss_boost
        why = f": {competitive}" if deals else f" ({competitive})"
        boosts.append(f"competitive loss{why} ×{num(strategy.competitive_loss_boost)}")
    if churn:
        multiplier *= strategy.churn_risk_boost
        boosts.append(f"churn risk ({churn}) ×{num(strategy.churn_risk_boost)}")
    return StrategyFit(
        okrs=tuple(okrs),
        unknown_okrs=tuple(sorted(set(unknown))),
        competitive_loss=competitive,
        churn_risk=churn,
        multiplier=multiplier,
        boosts=tuple(boosts),
        lost_deals=deals,
    )


def alignment_text(candidate: Candidate, fit: StrategyFit, policy: Policy) -> str:
    """The sprint table's "Strategic Alignment" cell: OKRs, override, reliability."""
    parts: list[str] = []
    if candidate.strategic_override:
        parts.append("Strategic override")
    parts.extend(f"{key} {policy.strategy.okrs[key]}" for key in fit.okrs)
    kind = (candidate.type or "").strip()
    if kind.casefold() in {"reliability", "tech debt", "compliance"}:
        parts.append(kind[:1].upper() + kind[1:])
    if fit.competitive_loss:
        parts.append("Competitive loss")
    if fit.churn_risk:
        parts.append("Churn risk")
    return "; ".join(parts)
