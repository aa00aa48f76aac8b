"""`backlog escalate PAGE [--sprint N] [--apply]`: make room mid-sprint for an urgent item (seed step 5).

Shows what would be dropped (the lowest-priority committed items whose effort covers it), records the proposal
and its trade-off in the sprint page's escalation log, and changes no row until the PM confirms with `--apply`:
then the escalated row gets Sprint N + Status Planned and the dropped rows lose them (Status back to Scored).
`--dry-run` writes nothing at all. The committed items are the rows marked Sprint N / Planned now.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from scoring.capacity import capacity_steps
from scoring.escalation import Committed, Escalation, escalate
from scoring.models import Candidate
from scoring.planner import item_effort
from scoring.policy import Policy
from scoring.score import is_closed, score_backlog
from service.logging import get_logger
from service.notion import NotionGateway
from service.notion.codecs import encode_rich_text
from service.notion.pages import block_text
from service.pipelines.report import report_candidate, settled_plan

log = get_logger(__name__)
_PAGE_ID = re.compile(r"([0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})\s*$", re.IGNORECASE)
_SPRINT_TITLE = re.compile(r"^Sprint (\d+) —")


class EscalationError(ValueError):
    """An escalation that cannot be worked out; the message says what to do."""


@dataclass
class EscalateResult:
    escalation: Escalation
    sprint: int
    page_id: str
    log_line: str
    recorded: bool
    applied: bool
    rows_written: int


def page_id_of(raw: str) -> str:
    """A row's page id from its id or its Notion URL (the id is the URL's last 32 hex digits)."""
    match = _PAGE_ID.search(raw.strip().split("?")[0])
    if match is None:
        raise EscalationError(f"{raw!r} is not a Notion page id or URL: copy the row's link in Notion.")
    return match.group(1)


def _sprint_page(gateway: NotionGateway, sprint: int | None) -> tuple[int, str]:
    """The sprint page to log on: sprint N's, or the highest-numbered one when no --sprint is given."""
    pages: dict[int, str] = {}
    for block in gateway.list_children(gateway.parent_page_id()):
        title = str((block.get("child_page") or {}).get("title", ""))
        found = _SPRINT_TITLE.match(title) if block.get("type") == "child_page" and not block.get("in_trash") else None
        if found:
            pages.setdefault(int(found.group(1)), str(block["id"]))
    if sprint is None and pages:
        sprint = max(pages)
    if sprint is None or sprint not in pages:
        which = f"sprint {sprint}" if sprint is not None else "any sprint"
        raise EscalationError(f"No sprint page for {which}: run `backlog report --sprint N` first.")
    return sprint, pages[sprint]


def _committed(candidates: Sequence[Candidate], policy: Policy, sprint: int) -> list[Committed]:
    scores = score_backlog(candidates, policy)
    held = []
    for c in candidates:
        if c.sprint != sprint or (c.status or "").strip() != "Planned" or is_closed(c):
            continue
        result = scores.get(c.page_id)
        protected = c.strategic_override or (result is not None and result.triage == "P0")
        held.append(Committed(c, item_effort(c, policy) or 0.0, result.rank if result else None, protected))
    return held


def _copy(block: dict[str, Any]) -> dict[str, Any]:
    """A block with the same signature (type and text), to tell replace_children the page's existing prefix."""
    kind = str(block.get("type", ""))
    return {"object": "block", "type": kind, kind: {"rich_text": encode_rich_text(block_text(block))}}


def _append_log(gateway: NotionGateway, page_id: str, line: str) -> None:
    """Append one line at the end of the page (the escalation log is its last section); nothing else moves."""
    current = [_copy(block) for block in gateway.list_children(page_id)]
    entry = {
        "object": "block",
        "type": "bulleted_list_item",
        "bulleted_list_item": {"rich_text": encode_rich_text(line)},
    }
    gateway.replace_children(page_id, [*current, entry])


def _apply(gateway: NotionGateway, escalation: Escalation, sprint: int) -> int:
    gateway.update_properties(
        escalation.item.page_id, {"Sprint": sprint, "Status": "Planned"}, what=f"escalating into sprint {sprint}"
    )
    for dropped in escalation.drops:
        gateway.update_properties(
            dropped.candidate.page_id, {"Sprint": None, "Status": "Scored"}, what=f"dropping from sprint {sprint}"
        )
    return 1 + len(escalation.drops)


def run_escalate(
    gateway: NotionGateway,
    policy: Policy,
    page: str,
    *,
    sprint: int | None = None,
    today: date,
    apply: bool = False,
    dry_run: bool = False,
) -> EscalateResult:
    """Work out the trade-off; record it (unless dry run); write the rows only with `apply`."""
    row_id = page_id_of(page)
    number, sprint_page = _sprint_page(gateway, sprint)
    candidates = [report_candidate(row) for row in gateway.iter_rows()]
    item = next((c for c in candidates if c.page_id.replace("-", "") == row_id.replace("-", "")), None)
    if item is None:
        raise EscalationError(f"Page {page} is not a row of backlog-candidates: open the row and copy its link.")
    effort = item_effort(item, policy)
    if effort is None:
        raise EscalationError(f"{item.name!r} has no Effort: set Effort on the row, then escalate again.")
    limit = capacity_steps(policy.capacity)[2]
    escalation = escalate(item, effort, _committed(candidates, policy, number), limit)
    applied = apply and not dry_run and escalation.fits and not escalation.already_planned
    status = "applied" if applied else "proposed (confirm with --apply)"
    line = f"{today.isoformat()} {status}: {escalation.text}"
    written = 0
    if not dry_run:
        if applied:
            written = _apply(gateway, escalation, number)
        _append_log(gateway, sprint_page, line)
    log.info("escalate.done", sprint=number, applied=applied, dropped=len(escalation.drops), dry_run=dry_run)
    return EscalateResult(escalation, number, sprint_page, line, not dry_run, applied, written)


def first_waiting(gateway: NotionGateway, policy: Policy, sprint: int, start: date) -> str | None:
    """The best-ranked eligible item the sprint did not pick (the demo escalates it), or None."""
    rows = {row.page_id: row for row in gateway.iter_rows()}
    planned, _ = settled_plan(rows, policy, sprint, start)
    return next(iter(planned.plan.waiting_page_ids), None)


__all__ = ["EscalateResult", "EscalationError", "first_waiting", "page_id_of", "run_escalate"]
