"""Finding, creating and adopting the candidates database, against the sandbox behind the fault transport."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.notion import NotionGateway, RowWrite
from service.notion.gateway import NotionNotFoundError
from service.notion.schema import SCHEMA
from service.sandbox import Sandbox, SandboxTransport
from service.settings import Settings
from tests.fakes.faults import FaultyNotion, lost_answer
from tests.fakes.sandbox_helpers import no_sleep
from tests.service.notion.support import create_database, make_gateway, write_for

DATA_SOURCE = r"data_sources/[^/]+"


def test_init_adopts_existing_database_and_reports_wrong_types(notion: FaultyNotion, sleeps: list[float]) -> None:
    _, data_source_id = create_database(
        notion,
        {
            "Name": {"title": {}},
            "Votes": {"rich_text": {}},
            "Source": {"select": {"options": [{"name": "Zendesk", "color": "red"}]}},
            "Notes": {"rich_text": {}},  # the PM's own property: left alone
        },
    )
    [zendesk] = notion.api("GET", f"data_sources/{data_source_id}")["properties"]["Source"]["select"]["options"]
    gateway = make_gateway(notion, sleeps)
    report = gateway.init_database()
    assert not report.created
    assert report.ref.data_source_id == data_source_id
    [problem] = report.problems
    assert problem.property == "Votes"
    assert problem.fix == (
        "rename the existing 'Votes' (rich_text) or change its type to Number in Notion, then run `backlog init` again"
    )
    expected_added = [s.name for s in SCHEMA if s.name not in {"Name", "Votes", "Source"}]
    assert report.added_properties == [*expected_added, "Last edited by"]  # what the incremental read filters on
    assert "Source: G2" in report.added_options
    [patch] = notion.transport.bodies("PATCH", DATA_SOURCE)
    assert "Votes" not in patch["properties"]
    assert "Notes" not in patch["properties"]
    assert patch["properties"]["Last edited by"] == {"last_edited_by": {}}
    assert patch["properties"]["Source"]["select"]["options"][0] == {
        key: zendesk[key] for key in ("id", "name", "color")
    }
    assert patch["properties"]["Merged Into"]["relation"]["data_source_id"] == data_source_id
    properties = notion.api("GET", f"data_sources/{data_source_id}")["properties"]
    assert properties["Votes"]["type"] == "rich_text"
    assert "Notes" in properties

    # A write to the wrong-typed property fails with the fix instead of writing nonsense.
    result = gateway.upsert([write_for("zendesk:1")], existing={})
    assert "change its type to Number" in dict(result.failed)["zendesk:1"]


def test_init_twice_second_run_writes_nothing(notion: FaultyNotion, sleeps: list[float]) -> None:
    first = make_gateway(notion, sleeps).init_database()
    assert first.created
    assert notion.transport.count("POST", "databases") == 1
    relations = notion.transport.bodies("PATCH", DATA_SOURCE)[0]["properties"]
    assert relations["Possible Duplicate"]["relation"]["data_source_id"] == first.ref.data_source_id
    properties = notion.api("GET", f"data_sources/{first.ref.data_source_id}")["properties"]
    assert all(spec.name in properties for spec in SCHEMA)

    again = make_gateway(notion, sleeps)
    second = again.init_database()
    assert not second.created
    assert (second.added_properties, second.added_options, second.problems) == ([], [], [])
    assert again.calls.writes == 0
    assert second.ref == first.ref


def test_init_create_that_landed_is_found_not_repeated(notion: FaultyNotion, sleeps: list[float]) -> None:
    notion.transport.fail("POST", "databases", lost_answer(500))
    report = make_gateway(notion, sleeps).init_database()
    assert report.created
    assert notion.transport.count("POST", "databases") == 1
    found = notion.api("POST", "search", {"filter": {"property": "object", "value": "data_source"}})["results"]
    assert [source["id"] for source in found] == [report.ref.data_source_id]


def test_init_dry_run_creates_nothing(notion: FaultyNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(notion, sleeps)
    report = gateway.init_database(dry_run=True)
    assert report.created
    assert gateway.calls.writes == 0
    assert notion.api("POST", "search", {"filter": {"property": "object", "value": "data_source"}})["results"] == []


def test_database_missing_says_run_init(notion: FaultyNotion, sleeps: list[float]) -> None:
    with pytest.raises(NotionNotFoundError, match="backlog init"):
        make_gateway(notion, sleeps).database()


# --- API versions -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("notion_version", ["2025-09-03", "2026-03-11", "2026-12-01"])
def test_init_creates_status_as_a_select_and_finds_the_database_again_on_every_version(
    tmp_path: Path, notion_version: str
) -> None:
    settings = Settings(backlog_sandbox_path=tmp_path / "s.sqlite3", notion_api_version=notion_version)
    with NotionGateway.from_settings(settings, sleep=no_sleep) as first:
        created = first.init_database()
    with NotionGateway.from_settings(settings, sleep=no_sleep) as second:
        adopted = second.init_database()  # found by search, whose results are title-only on 2026-12-01
        types = second.property_types()
    assert created.created
    assert not adopted.created
    assert adopted.ref == created.ref
    assert adopted.problems == []
    assert types["Status"] == "select"  # the API cannot put status options in groups (database.py docstring)


def test_filter_properties_are_the_live_ids_of_the_properties_read(tmp_path: Path) -> None:
    settings = Settings(backlog_sandbox_path=tmp_path / "s.sqlite3")
    with NotionGateway.from_settings(settings, sleep=no_sleep) as gateway:
        gateway.init_database()
        database = gateway._database  # the gateway's own Database; rows.py asks it the same way
        schema = database.schema()
        ids = database.filter_properties(["Source Key", "Name", "Not A Property"])
        assert ids == [schema["Source Key"]["id"], schema["Name"]["id"]]
        assert gateway.count_rows() == 0


class RecordingTransport(httpx.BaseTransport):
    """The sandbox, with every request URL kept (the fault transport records paths without query strings)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.urls: list[httpx.URL] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return self.inner.handle_request(request)


def test_counting_rows_queries_with_only_the_title_on_2026_12_01(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    settings = Settings(backlog_sandbox_path=path, notion_api_version="2026-12-01")
    with NotionGateway.from_settings(settings, sleep=no_sleep) as setup:
        setup.init_database()
        setup.upsert([RowWrite(f"manual:{n}", {"Name": f"row {n}"}) for n in range(3)])
    transport = RecordingTransport(SandboxTransport(Sandbox(path)))
    with NotionGateway.from_settings(settings, transport=transport, sleep=no_sleep) as gateway:
        assert gateway.count_rows() == 3
        title_id = gateway._database.schema()["Name"]["id"]
    queries = [url for url in transport.urls if url.path.endswith("/query")]
    assert queries
    assert all(url.params.get_list("filter_properties") == [title_id] for url in queries)
