"""Webhook events as Notion sends them: each event type, out of order, duplicated, retried (`attempt_number`),
and pages of other data sources. First the rules with fake hooks, then end to end on the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.app.jobs import RecentEvents, RescoreWorker, WorkerHooks
from service.notion import NotionGateway, RowWrite
from service.sandbox import ActAsPerson, Sandbox, SandboxTransport
from tests.service.app.test_webhook import DB, DS, Harness, event
from tests.service.app.test_webhook_e2e import Deployment
from tests.service.pipelines.test_score import pm_edit, rows_by_key

T1, T2, T3 = "2026-12-01T10:00:00.000Z", "2026-12-01T10:00:05.000Z", "2026-12-01T10:01:00.000Z"


def at(timestamp: str, **kwargs: Any) -> dict[str, Any]:
    return {**event(**kwargs), "timestamp": timestamp}


def schema_event(entity: str = DS, timestamp: str = T1) -> dict[str, Any]:
    return {
        "id": "evt-schema",
        "timestamp": timestamp,
        "type": "data_source.schema_updated",
        "attempt_number": 1,
        "authors": [{"id": "person-user-9", "type": "person"}],
        "entity": {"id": entity, "type": "data_source"},
        "data": {"parent": {"id": DB, "type": "database"}, "updated_properties": [{"id": "x", "name": "Impact"}]},
    }


class Hooked(Harness):
    """The unit harness with the worker's Notion hooks recorded."""

    def __init__(self, merged_into: dict[str, str] | None = None) -> None:
        super().__init__()
        self.schema_reads = 0
        self.asked_target: list[str] = []
        targets = merged_into or {}

        def forget() -> None:
            self.schema_reads += 1

        def target(page_id: str) -> str | None:
            self.asked_target.append(page_id)
            return targets.get(page_id)

        self.worker.hooks = WorkerHooks(forget_schema=forget, merge_target=target)


@pytest.mark.parametrize("kind", ["page.created", "page.properties_updated", "page.undeleted"])
def test_page_events_rescore_that_page(kind: str) -> None:
    h = Hooked()
    answer = h.post_event(event(kind=kind)).json()
    assert answer["queued"] is True
    assert h.worker.pending() == {"page-1"}
    assert h.worker.run_pending() == 1
    assert h.rescored == ["page-1"]


def test_deleted_page_rescores_the_row_it_was_merged_into() -> None:
    h = Hooked(merged_into={"page-1": "target-7"})
    assert h.post_event(event(kind="page.deleted")).json()["queued"] is True
    assert h.worker.pending() == set()  # nothing to rescore until the target is known
    h.worker.run_pending()
    assert h.asked_target == ["page-1"]
    assert h.rescored == ["target-7"]


def test_deleted_page_merged_nowhere_rescores_nothing() -> None:
    h = Hooked()
    h.post_event(event(kind="page.deleted"))
    assert h.worker.run_pending() == 1
    assert h.asked_target == ["page-1"]
    assert h.rescored == []  # scores are row-local: no other row depended on it
    assert h.worker.rescores == 0


def test_schema_updated_rereads_the_schema_and_rescores_nothing() -> None:
    h = Hooked()
    assert h.post_event(schema_event()).json()["queued"] is True
    h.worker.run_pending()
    assert h.schema_reads == 1
    assert h.rescored == []


def test_schema_changed_by_our_own_bot_is_read_again_too() -> None:
    """`backlog init` (this integration, another process) added a property: this process's cache is stale."""
    h = Hooked()
    payload = {**schema_event(), "authors": [{"id": "bot-user-1", "type": "bot"}]}
    assert h.post_event(payload).json()["queued"] is True
    h.worker.run_pending()
    assert h.schema_reads == 1


def test_schema_of_another_data_source_is_ignored() -> None:
    h = Hooked()
    answer = h.post_event(schema_event(entity="someone-elses-ds")).json()
    assert (answer["queued"], answer["reason"]) == (False, "schema of another data source")
    h.worker.run_pending()
    assert h.schema_reads == 0


def test_schema_re_read_happens_before_the_rescore_of_the_same_batch() -> None:
    order: list[str] = []
    worker = RescoreWorker(
        rescore=lambda page: order.append(f"rescore {page}"),
        debounce_s=0,
        hooks=WorkerHooks(forget_schema=lambda: order.append("schema")),
    )
    worker.submit("p1")
    worker.submit_schema()
    worker.run_pending()
    assert order == ["schema", "rescore p1"]


def test_every_attempt_of_one_event_is_handled_once() -> None:
    """Notion retries a delivery up to 8 times (`attempt_number` 1-8), the same event each time."""
    h = Hooked()
    answers = [h.post_event(event(attempt=attempt)).json() for attempt in range(1, 9)]
    assert [a["queued"] for a in answers] == [True] + [False] * 7
    assert {a["reason"] for a in answers[1:]} == {"duplicate delivery: already handled"}
    assert h.worker.run_pending() == 1
    h.post_event(event(attempt=8))  # a late retry after the rescore is still nothing to do
    assert h.worker.run_pending() == 0
    assert h.rescored == ["page-1"]


def test_out_of_order_events_older_than_one_handled_are_skipped() -> None:
    h = Hooked()
    assert h.post_event(at(T2)).json()["queued"] is True
    older = h.post_event(at(T1, kind="page.created")).json()  # sent first, delivered second
    assert (older["queued"], older["reason"]) == (False, "older than an event already handled for it")
    assert h.post_event(at(T3)).json()["queued"] is True  # a newer change still counts
    assert h.worker.run_pending() == 1
    assert h.rescored == ["page-1"]  # the rescore reads the page as it is now: one is enough


def test_same_timestamp_on_another_page_is_not_a_duplicate() -> None:
    h = Hooked()
    assert h.post_event(at(T1, page="a")).json()["queued"] is True
    assert h.post_event(at(T1, page="b")).json()["queued"] is True
    h.worker.run_pending()
    assert h.rescored == [None]  # two pages pending: one pass over the backlog


def test_a_page_of_another_data_source_of_our_database_is_ignored() -> None:
    """2025-09-03+ parents name the database (`id`) and the data source: the data source decides."""
    h = Hooked()
    payload = event()
    payload["data"]["parent"] = {"id": DB, "type": "database", "data_source_id": "another-ds-of-the-same-db"}
    answer = h.post_event(payload).json()
    assert (answer["queued"], answer["reason"]) == (False, "page of another database")
    ours = event()
    ours["data"]["parent"] = {"id": DB, "type": "database", "data_source_id": DS}
    assert h.post_event(ours).json()["queued"] is True


def test_ignored_events_are_not_remembered_as_handled() -> None:
    h = Hooked()
    assert h.post_event(at(T2, kind="page.content_updated")).json()["queued"] is False
    assert h.post_event(at(T1)).json()["queued"] is True  # not "older": the ignored one did nothing


def test_recent_events_memory_is_bounded() -> None:
    recent = RecentEvents(capacity=3)
    for page in "abcd":
        assert recent.check(page, T1) is None
    assert recent.check("a", T1) is None  # forgotten (the oldest of four): handled again, harmlessly
    assert recent.check("d", T1) == "duplicate delivery: already handled"
    assert recent.check("e", None) is None  # no timestamp: never deduplicated
    assert recent.check("e", None) is None


# ------------------------------------------------------------------------------------------------ on the sandbox
@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(tmp_path / "s.sqlite3")
    yield deployment
    deployment.gateway.close()


def calls_since(d: Deployment, before: Any) -> dict[str, int]:
    """Notion calls made since `before`, less the bot's id (looked up once per process, on the first event)."""
    return {name: n for name, n in d.gateway.calls.since(before).items() if name != "users.me"}


def deliver(d: Deployment, page_id: str, kind: str, timestamp: str = T1, attempt: int = 1) -> dict[str, Any]:
    payload = {**d.event(page_id, d.person_user_id), "type": kind, "timestamp": timestamp}
    payload["attempt_number"] = attempt
    return d.deliver(payload)


def test_page_created_by_the_pm_is_scored(deployed: Deployment) -> None:
    result = deployed.gateway.upsert(
        [RowWrite("manual:new-idea", {"Name": "New idea", "Source": "Manual"}, {"Status": "New", "Type": "Feature"})]
    )
    page_id = result.created[0][1]
    pm_edit(deployed.gateway, page_id, {"Reach": "5", "Impact": "2", "Confidence": "80%", "Effort": "M"})
    writes = deployed.gateway.calls.writes
    assert deliver(deployed, page_id, "page.created")["queued"] is True
    deployed.worker.run_pending()
    assert rows_by_key(deployed.gateway)["new-idea"].get("RICE") == pytest.approx(2.67)
    assert deployed.gateway.calls.writes - writes == 1  # that row, nothing else


def merge(d: Deployment) -> tuple[str, str]:
    child, target = d.ids["wakeword"], d.ids["escalation"]
    pm_edit(d.gateway, child, {"Merged Into": [target], "Status": "Merged"})
    return child, target


def test_properties_updated_on_a_merged_row_rescores_its_merge_target(deployed: Deployment) -> None:
    child, _target = merge(deployed)
    deliver(deployed, child, "page.properties_updated")
    deployed.worker.run_pending()
    assert "Evidence includes 1 merged row(s)." in rows_by_key(deployed.gateway)["escalation"].get("Score Note")


def test_deleting_a_merged_row_rescores_the_row_it_was_merged_into(deployed: Deployment) -> None:
    child, _target = merge(deployed)
    deliver(deployed, child, "page.properties_updated", T1)
    deployed.worker.run_pending()
    deployed.gateway.trash_row(child)
    assert deliver(deployed, child, "page.deleted", T2)["queued"] is True
    assert deployed.worker.run_pending() == 1
    assert deployed.worker.rescores == 2
    assert "merged row" not in rows_by_key(deployed.gateway)["escalation"].get("Score Note")


def test_deleting_a_row_merged_nowhere_costs_one_read_and_no_write(deployed: Deployment) -> None:
    page_id = deployed.ids["multilang"]
    deployed.gateway.trash_row(page_id)
    before = deployed.gateway.calls.snapshot()
    deliver(deployed, page_id, "page.deleted")
    deployed.worker.run_pending()
    assert deployed.worker.rescores == 0
    assert calls_since(deployed, before) == {"pages.retrieve": 1}  # its Merged Into, read from the trash


def test_a_row_the_pm_trashed_leaves_serves_rows_with_its_deleted_event(deployed: Deployment, tmp_path: Path) -> None:
    page_id = deployed.ids["multilang"]
    assert page_id in deployed.gateway.read_rows().rows
    person = ActAsPerson(SandboxTransport(Sandbox(deployed.settings.backlog_sandbox_path)))
    pm_settings = deployed.settings.model_copy(update={"backlog_cache_dir": tmp_path / "pm"})
    with NotionGateway.from_settings(pm_settings, transport=person) as pm:
        pm.client.pages.update(page_id, in_trash=True)  # the PM, in Notion's UI
    assert page_id in deployed.gateway.read_rows().rows  # a query never returns trashed rows: not seen to go

    deliver(deployed, page_id, "page.deleted")
    deployed.worker.run_pending()

    assert page_id not in deployed.gateway.read_rows().rows


def test_undeleted_page_is_rescored(deployed: Deployment) -> None:
    page_id = deployed.ids["escalation"]
    deployed.gateway.trash_row(page_id)
    deployed.gateway.client.pages.update(page_id, in_trash=False)  # the PM restores it from the trash ...
    pm_edit(deployed.gateway, page_id, {"Impact": "3"})  # ... and raises its Impact
    assert deliver(deployed, page_id, "page.undeleted")["queued"] is True
    deployed.worker.run_pending()
    assert deployed.rice("escalation") == pytest.approx(8.0)


def test_schema_updated_makes_the_gateway_read_the_schema_again(deployed: Deployment) -> None:
    deployed.gateway.property_types()  # cached
    before = deployed.gateway.calls.snapshot()
    payload = {
        **deployed.event(deployed.data_source_id, deployed.person_user_id),
        "type": "data_source.schema_updated",
        "entity": {"id": deployed.data_source_id, "type": "data_source"},
    }
    assert deployed.deliver(payload)["queued"] is True
    deployed.worker.run_pending()
    assert calls_since(deployed, before) == {"data_sources.retrieve": 1}
    deployed.gateway.property_types()
    assert calls_since(deployed, before) == {"data_sources.retrieve": 1}  # cached again


def test_retried_deliveries_of_one_edit_rescore_once(deployed: Deployment) -> None:
    page_id = deployed.ids["escalation"]
    pm_edit(deployed.gateway, page_id, {"Impact": "3"})
    answers = [deliver(deployed, page_id, "page.properties_updated", T2, attempt)["queued"] for attempt in (1, 2, 3)]
    assert answers == [True, False, False]
    assert deliver(deployed, page_id, "page.properties_updated", T1)["queued"] is False  # older, late
    deployed.worker.run_pending()
    assert deployed.worker.rescores == 1
    assert deployed.rice("escalation") == pytest.approx(8.0)
