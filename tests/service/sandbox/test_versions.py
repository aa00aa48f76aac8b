"""The sandbox per `Notion-Version`: each version's rules, `filter_properties`, status groups and user shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.sandbox import Sandbox
from tests.service.sandbox.test_sandbox import CANDIDATE_PROPERTIES, TOKEN, FakeWallClock, paragraph, text

VERSIONS = ["2025-09-03", "2026-03-11", "2026-12-01"]
NEWER = ["2026-03-11", "2026-12-01"]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = Sandbox(tmp_path / "versions.sqlite3", token=TOKEN, wall_clock=FakeWallClock())
    yield sandbox
    sandbox.close()


def call(
    box: Sandbox, version: str | None, method: str, path: str, body: Any = None, query: str = ""
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if version is not None:
        headers["Notion-Version"] = version
    raw = json.dumps(body).encode() if body is not None else b""
    status, _, data = box.handle(method, path, query, headers, raw)
    return status, json.loads(data)


def ok(box: Sandbox, version: str, method: str, path: str, body: Any = None, query: str = "") -> dict[str, Any]:
    status, answer = call(box, version, method, path, body, query)
    assert status == 200, answer
    return answer


def make_data_source(box: Sandbox, version: str, properties: dict[str, Any] | None = None) -> str:
    db = ok(
        box,
        version,
        "POST",
        "/v1/databases",
        {
            "parent": {"type": "page_id", "page_id": box.root_page_id},
            "title": [{"text": {"content": "backlog-candidates"}}],
            "initial_data_source": {"properties": properties or CANDIDATE_PROPERTIES},
        },
    )
    return str(db["data_sources"][0]["id"])


def add_row(box: Sandbox, version: str, ds_id: str, name: str, **extra: Any) -> dict[str, Any]:
    properties = {"Name": {"title": [{"text": {"content": name}}]}, **extra}
    return ok(box, version, "POST", "/v1/pages", {"parent": {"data_source_id": ds_id}, "properties": properties})


# --- the header itself -----------------------------------------------------------------------------------------


def test_missing_version_is_notions_missing_version_error(box: Sandbox) -> None:
    status, answer = call(box, None, "GET", "/v1/users/me")
    assert (status, answer["code"]) == (400, "missing_version")
    assert answer["message"] == (
        "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`."
    )


@pytest.mark.parametrize("version", ["2022-06-28", "2026-13-01", "latest"])
def test_unknown_version_lists_the_accepted_ones(box: Sandbox, version: str) -> None:
    status, answer = call(box, version, "GET", "/v1/users/me")
    assert (status, answer["object"], answer["code"]) == (400, "error", "validation_error")
    assert answer["message"].startswith("Notion-Version header failed validation: Notion-Version header should be")
    assert '"2025-09-03", "2026-03-11", or "2026-12-01"' in answer["message"]
    assert f'instead was "{version}"' in answer["message"]


# --- archived vs in_trash ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_archived_only_in_2025_09_03_answers(box: Sandbox, version: str) -> None:
    ds_id = make_data_source(box, version)
    page = add_row(box, version, ds_id, "row")
    block = ok(box, version, "PATCH", f"/v1/blocks/{page['id']}/children", {"children": [paragraph("x")]})
    answers = [
        page,
        ok(box, version, "GET", f"/v1/data_sources/{ds_id}"),
        ok(box, version, "GET", f"/v1/databases/{page['parent']['database_id']}"),
        block["results"][0],
        ok(box, version, "POST", f"/v1/data_sources/{ds_id}/query", {})["results"][0],
        ok(box, version, "GET", f"/v1/blocks/{block['results'][0]['id']}"),
    ]
    for answer in answers:
        assert answer["in_trash"] is False
        assert ("archived" in answer) is (version == "2025-09-03"), answer["object"]


def test_2025_09_03_still_accepts_archived_in_requests(box: Sandbox) -> None:
    ds_id = make_data_source(box, "2025-09-03")
    page = add_row(box, "2025-09-03", ds_id, "row")
    trashed = ok(box, "2025-09-03", "PATCH", f"/v1/pages/{page['id']}", {"archived": True})
    assert trashed["in_trash"] is True
    assert trashed["archived"] is True


@pytest.mark.parametrize("version", NEWER)
def test_newer_versions_reject_archived_and_take_in_trash(box: Sandbox, version: str) -> None:
    ds_id = make_data_source(box, version)
    page = add_row(box, version, ds_id, "row")
    for path in (f"/v1/pages/{page['id']}", f"/v1/data_sources/{ds_id}", f"/v1/blocks/{page['id']}"):
        status, answer = call(box, version, "PATCH", path, {"archived": True})
        assert (status, answer["code"]) == (400, "validation_error"), path
        assert "body.archived" in answer["message"]
        assert "in_trash" in answer["message"]
    assert ok(box, version, "GET", f"/v1/pages/{page['id']}")["in_trash"] is False
    trashed = ok(box, version, "PATCH", f"/v1/pages/{page['id']}", {"in_trash": True})
    assert trashed["in_trash"] is True
    assert "archived" not in trashed


# --- block append: after vs position -------------------------------------------------------------------------------


def block_texts(box: Sandbox, version: str, parent_id: str) -> list[str]:
    children = ok(box, version, "GET", f"/v1/blocks/{parent_id}/children")["results"]
    return [block["paragraph"]["rich_text"][0]["plain_text"] for block in children]


def seed_blocks(box: Sandbox, version: str) -> tuple[str, str]:
    """A page with paragraphs "a" and "c"; returns (page id, id of "a")."""
    page = ok(
        box,
        version,
        "POST",
        "/v1/pages",
        {"parent": {"page_id": box.root_page_id}, "properties": {"title": [{"text": {"content": "p"}}]}},
    )
    made = ok(
        box, version, "PATCH", f"/v1/blocks/{page['id']}/children", {"children": [paragraph("a"), paragraph("c")]}
    )
    return str(page["id"]), str(made["results"][0]["id"])


@pytest.mark.parametrize("version", VERSIONS)
def test_position_after_block_start_and_end(box: Sandbox, version: str) -> None:
    page_id, first = seed_blocks(box, version)
    path = f"/v1/blocks/{page_id}/children"
    after = {"type": "after_block", "after_block": {"id": first}}
    ok(box, version, "PATCH", path, {"children": [paragraph("b")], "position": after})
    ok(box, version, "PATCH", path, {"children": [paragraph("0")], "position": {"type": "start"}})
    ok(box, version, "PATCH", path, {"children": [paragraph("z")], "position": {"type": "end"}})
    assert block_texts(box, version, page_id) == ["0", "a", "b", "c", "z"]
    status, answer = call(box, version, "PATCH", path, {"children": [paragraph("?")], "position": {"type": "middle"}})
    assert (status, answer["code"]) == (400, "validation_error")


def test_flat_after_works_on_2025_09_03(box: Sandbox) -> None:
    page_id, first = seed_blocks(box, "2025-09-03")
    ok(box, "2025-09-03", "PATCH", f"/v1/blocks/{page_id}/children", {"children": [paragraph("b")], "after": first})
    assert block_texts(box, "2025-09-03", page_id) == ["a", "b", "c"]


@pytest.mark.parametrize("version", NEWER)
def test_flat_after_is_rejected_from_2026_03_11(box: Sandbox, version: str) -> None:
    page_id, first = seed_blocks(box, version)
    body = {"children": [paragraph("b")], "after": first}
    status, answer = call(box, version, "PATCH", f"/v1/blocks/{page_id}/children", body)
    assert (status, answer["code"]) == (400, "validation_error")
    assert "body.position" in answer["message"]
    assert block_texts(box, version, page_id) == ["a", "c"]


# --- title-only lists and filter_properties ------------------------------------------------------------------------


def filled_row(box: Sandbox, version: str) -> tuple[str, dict[str, Any]]:
    ds_id = make_data_source(box, version)
    row = add_row(box, version, ds_id, "SSO", **{"Source Key": text("zendesk:1"), "Votes": {"number": 3}})
    return ds_id, row


@pytest.mark.parametrize("version", VERSIONS)
def test_query_and_search_show_only_the_title_on_2026_12_01(box: Sandbox, version: str) -> None:
    ds_id, row = filled_row(box, version)
    queried = ok(box, version, "POST", f"/v1/data_sources/{ds_id}/query", {})["results"][0]["properties"]
    searched = ok(box, version, "POST", "/v1/search", {"filter": {"property": "object", "value": "page"}})
    found = next(page for page in searched["results"] if page["id"] == row["id"])["properties"]
    retrieved = ok(box, version, "GET", f"/v1/pages/{row['id']}")["properties"]
    everything = set(CANDIDATE_PROPERTIES)
    expected = {"Name"} if version == "2026-12-01" else everything
    assert set(queried) == expected
    assert set(found) == expected
    assert set(retrieved) == everything  # retrieve is not a list: every version shows every property
    assert queried["Name"]["title"][0]["plain_text"] == "SSO"


@pytest.mark.parametrize("version", VERSIONS)
def test_filter_properties_is_honoured_by_query_retrieve_and_search(box: Sandbox, version: str) -> None:
    ds_id, row = filled_row(box, version)
    votes_id = ok(box, version, "GET", f"/v1/data_sources/{ds_id}")["properties"]["Votes"]["id"]
    wanted = f"filter_properties={votes_id}&filter_properties=Source%20Key"
    queried = ok(box, version, "POST", f"/v1/data_sources/{ds_id}/query", {}, query=wanted)["results"][0]
    retrieved = ok(box, version, "GET", f"/v1/pages/{row['id']}", query=wanted)
    searched = ok(box, version, "POST", "/v1/search", {"query": "SSO"}, query=wanted)["results"][0]
    for page in (queried, retrieved, searched):
        assert set(page["properties"]) == {"Votes", "Source Key"}
        assert page["properties"]["Votes"]["number"] == 3
    status, answer = call(box, version, "GET", f"/v1/pages/{row['id']}", query="filter_properties=Nope")
    assert (status, answer["code"]) == (400, "validation_error")


@pytest.mark.parametrize("version", VERSIONS)
def test_filter_properties_narrows_create_and_update_answers(box: Sandbox, version: str) -> None:
    ds_id = make_data_source(box, version)
    body = {"parent": {"data_source_id": ds_id}, "properties": {"Name": {"title": []}, "Votes": {"number": 1}}}
    created = ok(box, version, "POST", "/v1/pages", body, query="filter_properties=Votes")
    assert set(created["properties"]) == {"Votes"}
    change = {"properties": {"Votes": {"number": 2}}}
    updated = ok(box, version, "PATCH", f"/v1/pages/{created['id']}", change, query="filter_properties=title")
    assert set(updated["properties"]) == {"Name"}
    assert ok(box, version, "GET", f"/v1/pages/{created['id']}")["properties"]["Votes"]["number"] == 2


def test_filter_properties_pages_through_a_title_only_query(box: Sandbox) -> None:
    ds_id = make_data_source(box, "2026-12-01")
    for index in range(3):
        add_row(box, "2026-12-01", ds_id, f"row {index}", Votes={"number": index})
    path = f"/v1/data_sources/{ds_id}/query"
    first = ok(box, "2026-12-01", "POST", path, {"page_size": 2}, query="filter_properties=Votes")
    rest = ok(
        box,
        "2026-12-01",
        "POST",
        path,
        {"page_size": 2, "start_cursor": first["next_cursor"]},
        "filter_properties=Votes",
    )
    votes = [page["properties"]["Votes"]["number"] for page in first["results"] + rest["results"]]
    assert sorted(votes) == [0, 1, 2]
    assert all(set(page["properties"]) == {"Votes"} for page in first["results"] + rest["results"])


# --- status: creation with groups, equals on a group ---------------------------------------------------------------

STATUS_WITH_OPTIONS: dict[str, Any] = {
    "Name": {"title": {}},
    "Status": {"status": {"options": [{"name": "New", "color": "gray"}, {"name": "Done", "color": "green"}]}},
}


def groups_of(box: Sandbox, version: str, ds_id: str) -> dict[str, list[str]]:
    config = ok(box, version, "GET", f"/v1/data_sources/{ds_id}")["properties"]["Status"]["status"]
    names = {option["id"]: option["name"] for option in config["options"]}
    return {group["name"]: [names[oid] for oid in group["option_ids"]] for group in config["groups"]}


@pytest.mark.parametrize("version", VERSIONS)
def test_status_without_options_gets_notions_defaults_in_their_groups(box: Sandbox, version: str) -> None:
    ds_id = make_data_source(box, version, {"Name": {"title": {}}, "Status": {"status": {}}})
    assert groups_of(box, version, ds_id) == {
        "To-do": ["Not started"],
        "In progress": ["In progress"],
        "Complete": ["Done"],
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_status_is_created_with_options_that_land_in_to_do(box: Sandbox, version: str) -> None:
    ds_id = make_data_source(box, version, STATUS_WITH_OPTIONS)
    assert groups_of(box, version, ds_id) == {"To-do": ["New", "Done"], "In progress": [], "Complete": []}
    page = add_row(box, version, ds_id, "row", Status={"status": {"name": "Done"}})
    assert page["properties"]["Status"]["status"]["name"] == "Done"


def test_status_options_are_added_to_to_do_and_the_rest_kept(box: Sandbox) -> None:
    ds_id = make_data_source(box, "2026-03-11", {"Name": {"title": {}}, "Status": {"status": {}}})
    body = {"properties": {"Status": {"status": {"options": [{"name": "Icebox"}, {"name": "Done", "color": "red"}]}}}}
    schema = ok(box, "2026-03-11", "PATCH", f"/v1/data_sources/{ds_id}", body)["properties"]
    assert groups_of(box, "2026-03-11", ds_id) == {
        "To-do": ["Not started", "Icebox"],
        "In progress": ["In progress"],
        "Complete": ["Done"],
    }
    colors = {option["name"]: option["color"] for option in schema["Status"]["status"]["options"]}
    assert colors["Done"] == "red"


@pytest.mark.parametrize(
    ("status_body", "where"),
    [
        ({"options": [{"name": "New"}], "groups": [{"name": "To-do", "option_ids": ["New"]}]}, "status.groups"),
        ({"options": [{"name": "New", "group": "To-do"}]}, "options[0].group"),
    ],
)
def test_status_groups_cannot_be_given_through_the_api(box: Sandbox, status_body: dict[str, Any], where: str) -> None:
    properties = {"Name": {"title": {}}, "Status": {"status": status_body}}
    body = {
        "parent": {"type": "page_id", "page_id": box.root_page_id},
        "initial_data_source": {"properties": properties},
    }
    status, answer = call(box, "2026-12-01", "POST", "/v1/databases", body)
    assert (status, answer["code"]) == (400, "validation_error")
    assert where in answer["message"]
    assert "should be not present" in answer["message"]


@pytest.mark.parametrize("version", VERSIONS)
def test_status_equals_matches_a_group_only_before_2026_12_01(box: Sandbox, version: str) -> None:
    ds_id = make_data_source(box, version, {"Name": {"title": {}}, "Status": {"status": {}}})
    add_row(box, version, ds_id, "done", Status={"status": {"name": "Done"}})
    add_row(box, version, ds_id, "new", Status={"status": {"name": "Not started"}})
    path = f"/v1/data_sources/{ds_id}/query"

    def matching(condition: dict[str, Any]) -> list[str]:
        body = {"filter": {"property": "Status", "status": condition}}
        results = ok(box, version, "POST", path, body)["results"]
        return [page["properties"]["Name"]["title"][0]["plain_text"] for page in results]

    assert matching({"equals": "Complete"}) == ([] if version == "2026-12-01" else ["done"])
    assert matching({"does_not_equal": "Complete"}) == (["done", "new"] if version == "2026-12-01" else ["new"])
    assert matching({"equals": "Done"}) == ["done"]  # an option's name works on every version


# --- users ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_person_name_may_be_null_on_2026_12_01(box: Sandbox, version: str) -> None:
    nameless = box.add_person(None, "guest@example.com")
    user = ok(box, version, "GET", f"/v1/users/{nameless}")
    assert user["name"] == (None if version == "2026-12-01" else "")
    listed = next(u for u in ok(box, version, "GET", "/v1/users")["results"] if u["id"] == nameless)
    assert listed["name"] == user["name"]
    ds_id = make_data_source(box, version)
    row = add_row(box, version, ds_id, "owned", Owner={"people": [{"id": nameless}]})
    assert row["properties"]["Owner"]["people"][0]["name"] == user["name"]


def test_people_carry_email_verified(box: Sandbox) -> None:
    pat = ok(box, "2025-09-03", "GET", f"/v1/users/{box.person_user_id}")
    assert pat["person"] == {"email": "pat.product@example.com", "email_verified": True}
    assert pat["name"] == "Pat Product"
    bot = ok(box, "2025-09-03", "GET", "/v1/users/me")
    assert "person" not in bot


# --- rich text and error shapes ------------------------------------------------------------------------------------


def test_date_mentions_answer_with_end_and_time_zone(box: Sandbox) -> None:
    mention = {"type": "mention", "mention": {"type": "date", "date": {"start": "2026-12-01"}}}
    block = {"paragraph": {"rich_text": [mention]}}
    made = ok(box, "2026-12-01", "PATCH", f"/v1/blocks/{box.root_page_id}/children", {"children": [block]})
    item = made["results"][0]["paragraph"]["rich_text"][0]
    assert item["mention"] == {"type": "date", "date": {"start": "2026-12-01", "end": None, "time_zone": None}}
    assert item["plain_text"] == "2026-12-01"


def test_rate_limit_error_carries_additional_data(tmp_path: Path) -> None:
    limited = Sandbox(tmp_path / "limited.sqlite3", token=TOKEN, rate_limit=1, clock=lambda: 0.0)
    try:
        assert call(limited, "2026-12-01", "GET", "/v1/users/me")[0] == 200
        status, answer = call(limited, "2026-12-01", "GET", "/v1/users/me")
        assert status == 429
        assert answer["additional_data"] == {"retry_after": "1", "rate_limit_reason": "public_api_request_rate_limit"}
    finally:
        limited.close()


def test_ordinary_errors_have_no_additional_data(box: Sandbox) -> None:
    status, answer = call(box, "2025-09-03", "GET", "/v1/pages/0f0e0d0c0b0a4a4b8c8d0e0f10111213")
    assert status == 404
    assert set(answer) == {"object", "status", "code", "message", "request_id"}


# --- the real client, pinned to each version ----------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_notion_client_pinned_to_each_version(box: Sandbox, version: str) -> None:
    import httpx
    from notion_client import Client

    from service.sandbox import SandboxTransport

    client = Client(
        {"auth": TOKEN, "base_url": "http://sandbox.local", "notion_version": version},
        client=httpx.Client(transport=SandboxTransport(box)),
    )
    ds_id = make_data_source(box, version)
    page = add_row(box, version, ds_id, "via client", Votes={"number": 5})
    found: Any = client.data_sources.query(data_source_id=ds_id, filter_properties=["Votes"])
    assert found["results"][0]["properties"] == {
        "Votes": {"id": found["results"][0]["properties"]["Votes"]["id"], "type": "number", "number": 5}
    }
    listed: Any = client.data_sources.query(data_source_id=ds_id)
    assert ("Votes" in listed["results"][0]["properties"]) is (version != "2026-12-01")
    client.blocks.children.append(block_id=page["id"], children=[paragraph("b")])
    client.blocks.children.append(block_id=page["id"], children=[paragraph("a")], position={"type": "start"})
    assert block_texts(box, version, page["id"]) == ["a", "b"]
    trashed: Any = client.pages.update(page_id=page["id"], in_trash=True)
    assert trashed["in_trash"] is True
    assert ("archived" in trashed) is (version == "2025-09-03")
