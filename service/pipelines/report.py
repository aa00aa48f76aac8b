"""`backlog report --sprint N`: plan the sprint (pure planner) and write it where the PM works.

Writes, idempotently:
- the page "Sprint N — <start> to <end>" under the parent page: capacity math, the seed's sprint table (each item
  linked to its row), the stakeholder summary, risks and zombies, and a leadership-only toggle. Re-running for
  the same sprint finds the page by its "Sprint N —" title prefix and rewrites its content only when the content
  changed (a fingerprint is kept in the page's first block), so a re-run with nothing new writes nothing;
- planned rows: Sprint = N, Status = Planned;
- Sprints Waiting + 1 for rows that were eligible and not picked, once per sprint: `Waiting Counted` remembers
  the last sprint counted on each row, so a re-run (or a run killed half-way and run again) never counts twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal, cast

from scoring.planner import PlanItem, SprintPlan, plan_sprint
from scoring.policy import Policy
from scoring.scales import fmt1, num
from scoring.score import score_backlog
from scoring.summary import build_summary, render_markdown
from service.logging import get_logger
from service.notion.codecs import encode_rich_text
from service.notion.gateway import NotionError, NotionGateway, Row
from service.pipelines.mapping import row_to_candidate

log = get_logger(__name__)

FINGERPRINT_PREFIX = "backlog fingerprint "


@dataclass
class ReportResult:
    plan: SprintPlan
    markdown: str
    page_id: str | None
    page_url: str | None
    page_action: str  # created | updated | unchanged
    rows_written: int
    planned: int
    planned_effort: float
    plan_limit: float
    notion_calls: int
    failed: list[tuple[str, str]]


# ------------------------------------------------------------------------------------------ Notion blocks (pure)
def _rt(text: str, *, link: str | None = None, bold: bool = False) -> list[dict[str, Any]]:
    items = encode_rich_text(text)
    for item in items:
        if link:
            item["text"]["link"] = {"url": link}
        if bold:
            item["annotations"] = {"bold": True}
    return items


def _block(kind: str, text: str = "", **extra: Any) -> dict[str, Any]:
    return {"object": "block", "type": kind, kind: {"rich_text": _rt(text), **extra}}


def _bullets(lines: tuple[str, ...] | list[str], empty: str = "None.") -> list[dict[str, Any]]:
    return [_block("bulleted_list_item", line) for line in (lines or [empty])]


def _cell(text: str, link: str | None = None) -> list[dict[str, Any]]:
    return _rt(text, link=link) if text else []


def _row(cells: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {"object": "block", "type": "table_row", "table_row": {"cells": cells}}


def _table(plan: SprintPlan) -> dict[str, Any]:
    header = ["Priority", "Item", "RICE", "Strategic Alignment", "Effort", "Owner", "Notes"]
    rows = [_row([_cell(h) for h in header])]
    items: tuple[PlanItem, ...] = (*plan.items, *plan.stretch)
    rows.extend(
        _row(
            [
                _cell(item.priority),
                _cell(item.candidate.name, item.candidate.url),
                _cell(fmt1(item.rice) if item.rice is not None else "—"),
                _cell(item.alignment or "—"),
                _cell(f"{num(item.effort)} pw"),
                _cell(item.owner or "—"),
                _cell("; ".join(item.notes)),
            ]
        )
        for item in items
    )
    return {
        "object": "block",
        "type": "table",
        "table": {"table_width": len(header), "has_column_header": True, "has_row_header": False, "children": rows},
    }


def page_blocks(plan: SprintPlan, policy: Policy, markdown_leadership: str) -> list[dict[str, Any]]:
    """The sprint page's content, top to bottom. Pure: same plan -> same blocks (so the fingerprint is stable)."""
    summary = build_summary(plan, policy)
    blocks: list[dict[str, Any]] = [
        _block("heading_2", "Stakeholder summary"),
        {
            "object": "block",
            "type": "paragraph",
            "paragraph": {"rich_text": _rt(f"Subject: {summary.subject}", bold=True)},
        },
    ]
    for heading, lines in (
        ("What we're building this sprint", summary.building),
        ("What we're NOT building this sprint (and why)", summary.not_building),
        ("Key trade-offs we made", summary.tradeoffs),
        ("What we need from you", summary.asks),
        ("Risks", summary.risks),
    ):
        blocks += [_block("heading_3", heading), *_bullets(lines)]
    blocks.append(_block("heading_2", f"Sprint {plan.sprint} — {plan.start.isoformat()} to {plan.end.isoformat()}"))
    blocks.append(
        _block(
            "paragraph",
            f"Capacity: {fmt1(plan.plan_limit)} person-weeks may be planned; {fmt1(plan.planned_effort)} are.",
        )
    )
    if plan.empty_reason:
        blocks.append(_block("callout", plan.empty_reason, icon={"type": "emoji", "emoji": "⚠️"}))
    blocks.append(_table(plan))
    blocks.append(_block("heading_2", "Capacity, step by step"))
    blocks += _bullets(
        [f"{step.label}: {num(step.person_weeks)} pw — {step.explanation}" for step in plan.capacity_steps]
    )
    if plan.capacity_note:
        blocks.append(_block("paragraph", plan.capacity_note))
    if plan.ops_bugs:
        blocks.append(_block("heading_3", "Bugs paid for by the bugs/ops share"))
        blocks += _bullets([f"{c.severity or '?'} — {c.name}" for c in plan.ops_bugs])
    blocks.append(_block("heading_2", "Zombies: re-prioritize or kill"))
    blocks += _bullets([z.text for z in plan.zombies], empty="No item has waited 3+ sprints.")
    leadership = [line for line in markdown_leadership.splitlines() if line.strip()]
    blocks.append(
        {
            "object": "block",
            "type": "toggle",
            "toggle": {
                "rich_text": _rt("Leadership version (summary only — copy into the email)"),
                "children": [_block("paragraph", line.replace("**", "")) for line in leadership[:90]],
            },
        }
    )
    return blocks


def fingerprint(blocks: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(blocks, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def header_block(print_: str, plan: SprintPlan, candidates: int) -> dict[str, Any]:
    return _block(
        "callout",
        f"Generated by backlog from {candidates} candidates. Edit the rows in backlog-candidates, then run "
        f"`backlog report --sprint {plan.sprint}` again to refresh this page. ({FINGERPRINT_PREFIX}{print_})",
        icon={"type": "emoji", "emoji": "🤖"},
    )


# ------------------------------------------------------------------------------------------ the pipeline
def _find_sprint_page(gateway: NotionGateway, parent: str, sprint: int) -> str | None:
    prefix = f"Sprint {sprint} —"
    for block in gateway.list_children(parent):
        live = block.get("type") == "child_page" and not block.get("in_trash") and not block.get("archived")
        if live and str((block.get("child_page") or {}).get("title", "")).startswith(prefix):
            return str(block["id"])
    return None


def _page_fingerprint(gateway: NotionGateway, page_id: str) -> str | None:
    children = gateway.list_children(page_id)
    if not children:
        return None
    first = children[0]
    texts = (first.get(first.get("type", ""), {}) or {}).get("rich_text") or []
    text = "".join(t.get("plain_text") or (t.get("text") or {}).get("content", "") for t in texts)
    if FINGERPRINT_PREFIX in text:
        return text.split(FINGERPRINT_PREFIX, 1)[1].rstrip(")").strip()
    return None


def row_updates(plan: SprintPlan, rows: dict[str, Row]) -> dict[str, dict[str, Any]]:
    """Per page, the report-owned values to write (only what differs from Notion)."""
    updates: dict[str, dict[str, Any]] = {}
    for page_id in plan.picked_page_ids:
        row = rows.get(page_id)
        if row is None:
            continue
        want: dict[str, Any] = {}
        if row.values.get("Sprint") != plan.sprint and str(row.values.get("Sprint")) != str(plan.sprint):
            want["Sprint"] = plan.sprint
        if row.values.get("Status") != "Planned":
            want["Status"] = "Planned"
        if want:
            updates[page_id] = want
    for page_id in plan.waiting_page_ids:
        row = rows.get(page_id)
        if row is None:
            continue
        counted = row.values.get("Waiting Counted")
        if isinstance(counted, int | float) and counted >= plan.sprint:
            continue  # this sprint was already counted on this row
        waiting = row.values.get("Sprints Waiting")
        base = int(waiting) if isinstance(waiting, int | float) else 0
        updates.setdefault(page_id, {}).update({"Sprints Waiting": base + 1, "Waiting Counted": plan.sprint})
    return updates


def run_report(
    gateway: NotionGateway,
    policy: Policy,
    *,
    sprint: int,
    start: date,
    dry_run: bool = False,
    audience: str = "engineering",
) -> ReportResult:
    calls_before = gateway.calls.total
    rows = {row.page_id: row for row in gateway.iter_rows()}
    candidates = [row_to_candidate(row) for row in rows.values()]
    plan = plan_sprint(candidates, score_backlog(candidates, policy), policy, sprint, start)
    updates = row_updates(plan, rows)
    # The page shows the backlog as it will be once this report's own row writes landed (Sprints Waiting + 1,
    # Status Planned), so re-running it finds the same content and writes nothing.
    after = {pid: replace(row, values={**row.values, **updates.get(pid, {})}) for pid, row in rows.items()}
    settled = [row_to_candidate(row) for row in after.values()]
    plan = plan_sprint(settled, score_backlog(settled, policy), policy, sprint, start)
    kind = cast(Literal["leadership", "engineering"], audience if audience == "leadership" else "engineering")
    markdown = render_markdown(plan, policy, audience=kind)
    blocks = page_blocks(plan, policy, render_markdown(plan, policy, audience="leadership"))
    print_ = fingerprint(blocks)
    title = f"Sprint {sprint} — {plan.start.isoformat()} to {plan.end.isoformat()}"
    failed: list[tuple[str, str]] = []
    page_id: str | None = None
    page_url: str | None = None
    action = "unchanged"

    parent = gateway.parent_page_id()
    page_id = _find_sprint_page(gateway, parent, sprint)
    content = [header_block(print_, plan, len(candidates)), *blocks]
    if page_id is None:
        action = "created"
        if not dry_run:
            page_id, page_url = gateway.create_page(parent, title, content, icon="🗓️")
    else:
        page_url = gateway.page_url(page_id)
        if _page_fingerprint(gateway, page_id) != print_:
            action = "updated"
            if not dry_run:
                gateway.replace_children(page_id, content)

    written = 0
    for pid, values in updates.items():
        if dry_run:
            written += 1
            continue
        name = rows[pid].values.get("Name") or pid
        try:
            gateway.update_properties(pid, values, what=f"marking {name!r} for sprint {sprint}")
            written += 1
        except NotionError as exc:
            failed.append((pid, str(exc)))
            log.error("report.row_failed", page_id=pid, name=name, error=str(exc))
    result = ReportResult(
        plan=plan,
        markdown=markdown,
        page_id=page_id,
        page_url=page_url,
        page_action=action,
        rows_written=written,
        planned=len(plan.items),
        planned_effort=plan.planned_effort,
        plan_limit=plan.plan_limit,
        notion_calls=gateway.calls.total - calls_before,
        failed=failed,
    )
    log.info(
        "report.done",
        sprint=sprint,
        page=action,
        page_id=page_id,
        planned=len(plan.items),
        planned_effort=plan.planned_effort,
        plan_limit=plan.plan_limit,
        rows_written=written,
        notion_calls=result.notion_calls,
        dry_run=dry_run,
    )
    return result
