"""Possible Duplicate suggestions: the closest title at or above the threshold, never for a title too short to
mean anything, and linked only on create (the PM owns the link afterwards); end to end on the demo exports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from service.notion import Row, RowWrite
from service.pipelines.dedupe import DuplicateFinder, with_possible_duplicate
from service.pipelines.sync import run_sync
from service.policy_file import load_policy
from tests.fakes.sandbox_helpers import DEMO_CONFIG, sandbox_gateway, sandbox_settings

WHEN = datetime(2026, 11, 1, tzinfo=UTC)


def row(page_id: str, name: str) -> Row:
    return Row(page_id, f"https://notion.so/{page_id}", WHEN, WHEN, None, {"Name": name})


ROWS = [
    row("p-handoff", "Hand off to a human agent mid-call"),
    row("p-soc2", "Need SOC 2 Type II report for vendor review"),
    row("p-blank", "   "),
]


def test_best_is_the_closest_title_at_or_above_the_threshold() -> None:
    finder = DuplicateFinder(ROWS, threshold=80)

    assert finder.best("Human handoff for billing questions in Spanish") is None  # 47.5 < 80
    assert finder.best("hand off to a HUMAN agent mid call, please") == "p-handoff"
    assert finder.best("SOC 2 Type II report needed for vendor review") == "p-soc2"
    reworded = "Handoff to human agent in the middle of a call"  # token-set ratio 82.5
    assert finder.best(reworded) == "p-handoff"
    assert DuplicateFinder(ROWS, threshold=90).best(reworded) is None


def test_short_or_empty_titles_are_never_matched() -> None:
    finder = DuplicateFinder([row("p-latency", "Latency"), *ROWS], threshold=50)

    assert finder.best("Latency") is None  # one or two words would match half the backlog
    assert finder.best("SOC 2") is None
    assert finder.best("   ") is None
    assert DuplicateFinder([], threshold=0).best("Hand off to a human agent mid-call") is None


def test_a_title_added_during_the_sync_can_be_matched_by_the_next_new_row() -> None:
    finder = DuplicateFinder([], threshold=80)
    finder.add("p-new", "Export call transcripts as SRT files")
    finder.add("p-empty", "")

    assert finder.best("Export the call transcripts as SRT files") == "p-new"


def test_the_link_is_create_only_and_absent_without_a_match() -> None:
    write = RowWrite("zendesk:1", {"Name": "x"}, {"Status": "New"})

    linked = with_possible_duplicate(write, "p-handoff")

    assert linked.create_only == {"Status": "New", "Possible Duplicate": ("p-handoff",)}
    assert linked.properties == write.properties
    assert write.create_only == {"Status": "New"}  # the original is not changed
    assert with_possible_duplicate(write, None) is write


def test_demo_sync_links_the_github_issue_to_the_zendesk_ticket_it_repeats(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    with sandbox_gateway(settings) as gateway:
        run_sync(settings, gateway, load_policy(DEMO_CONFIG, explicit=True))
        rows = gateway.find_by_source_keys(["zendesk:35478", "github:wavelength-ai/open-voice#424"])

    ticket, issue = rows["zendesk:35478"], rows["github:wavelength-ai/open-voice#424"]
    assert list(issue.values["Possible Duplicate"]) == [ticket.page_id]
    assert not ticket.values.get("Possible Duplicate")  # the older row is not linked back
