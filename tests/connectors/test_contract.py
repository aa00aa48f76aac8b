"""The contract every connector passes, on the same `build_connector` path sync and doctor use.

Each connector supplies a small `Shape` (how its API pages, where the window and the next token go, what its
export file looks like); the suite then checks pagination to the end, cursor resume (closed start), 429 with
Retry-After (fake sleep), 5xx then success, 401 naming the setting, a malformed payload, export files with a
BOM and CRLF line endings, and the two URL drift bugs (bare Zendesk subdomain, base URL without a scheme).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from connectors.base import Connector
from connectors.discord import DISCORD_EPOCH_MS, snowflake_after
from connectors.http import MalformedPayloadError, SourceAuthError, SourceConfigError
from connectors.registry import CONNECTORS
from connectors.signal import Signal
from service.pipelines.demo import export_overrides
from service.pipelines.doctor import source_checks
from service.pipelines.sources import build_connector
from service.settings import Settings
from tests import REPO_ROOT
from tests.connectors.fake_time import FakeTime

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SECRET = "contract-secret-token-42"  # fake; never in an error message


def at(i: int) -> datetime:
    return T0 + timedelta(hours=i)


def iso(i: int) -> str:
    return at(i).strftime("%Y-%m-%dT%H:%M:%SZ")


Body = tuple[Any, dict[str, str]]  # (JSON body, headers) of one API page


@dataclass
class Shape:
    """One source's API and export shape, as the contract needs it."""

    name: str
    settings: dict[str, Any]  # live API settings (Settings field names)
    url_setting: str  # the base URL setting
    auth_setting: str  # what a 401 must name
    item: Callable[[int], Any]  # API record number i, updated at `at(i)`
    key: Callable[[int], str]  # its external id
    page: Callable[[list[Any], str | None], Body]  # a page with these records and this next token (None: last)
    token_in: Callable[[httpx.Request], object]  # where the token went in the next request
    window_in: Callable[[httpx.Request], object]  # how `since` appears in the first request
    window_for: Callable[[datetime], object]  # ... for this since
    export_name: str
    export: Callable[[list[int]], str]  # an export file holding records i
    full_page: int = 2  # records on a page that is followed by another
    preamble: list[Any] = field(default_factory=list)  # JSON answered before the pages (Discord's channel)
    next_token: str = "t2"  # what the request after a page built with token "t2" carries (PagerDuty: an offset)
    place: Callable[[Path, bytes], Path] | None = None  # writes an export that is not one file (Slack's folder)


def _query(name: str) -> Callable[[httpx.Request], str | None]:
    return lambda request: request.url.params.get(name)


def _json_key(*path: str) -> Callable[[httpx.Request], object]:
    def read(request: httpx.Request) -> object:
        value: Any = json.loads(request.content)
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return read


# --- Zendesk ----------------------------------------------------------------------------------------------------

ZENDESK = "https://acme.zendesk.com"


def zendesk_ticket(i: int) -> dict[str, Any]:
    return {
        "id": 100 + i,
        "url": f"{ZENDESK}/api/v2/tickets/{100 + i}.json",
        "subject": f"Ticket {i}: please add SSO",
        "description": "We need <b>SSO</b>.",
        "created_at": iso(i),
        "updated_at": iso(i),
        "status": "open",
        "tags": ["feature-request"],
    }


ZENDESK_SHAPE = Shape(
    name="zendesk",
    settings={"zendesk_url": ZENDESK, "zendesk_email": "pm@acme.example", "zendesk_api_token": SECRET},
    url_setting="ZENDESK_URL",
    auth_setting="ZENDESK_API_TOKEN",
    item=zendesk_ticket,
    key=lambda i: str(100 + i),
    page=lambda items, token: ({"tickets": items, "after_cursor": token, "end_of_stream": token is None}, {}),
    token_in=_query("cursor"),
    window_in=_query("start_time"),
    window_for=lambda since: str(int(since.timestamp())),
    export_name="tickets.json",
    export=lambda ids: json.dumps([zendesk_ticket(i) for i in ids], indent=2),
)

# --- G2 ---------------------------------------------------------------------------------------------------------

G2 = "https://data.g2.com"


def g2_review(i: int) -> dict[str, Any]:
    attributes = {"title": f"Review {i}", "star_rating": 4, "submitted_at": iso(i), "updated_at": iso(i)}
    return {"id": f"r{i}", "type": "reviews", "attributes": attributes}


def g2_next(token: str | None) -> str | None:
    return f"{G2}/api/v2/products/p1/reviews?page%5Bafter%5D={token}" if token else None


def g2_export(ids: list[int]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Review ID", "Title", "Star Rating", "What do you like best?", "Submitted At", "Updated At"])
    for i in ids:
        writer.writerow([f"r{i}", f"Review {i}", "4", "Fast\nand cheap", iso(i), iso(i)])
    return out.getvalue()


G2_SHAPE = Shape(
    name="g2",
    settings={"g2_api_token": SECRET, "g2_product_id": "p1"},
    url_setting="G2_API_URL",
    auth_setting="G2_API_TOKEN",
    item=g2_review,
    key=lambda i: f"r{i}",
    page=lambda items, token: (
        {
            "data": items,
            "links": {"next": f"{G2}/api/v2/products/p1/reviews?page%5Bafter%5D={token}" if token else None},
        },
        {},
    ),
    token_in=_query("page[after]"),
    window_in=_query("filter[updated_at_gt]"),
    window_for=lambda since: (since - timedelta(seconds=1)).isoformat(),
    export_name="reviews.csv",
    export=g2_export,
)

# --- Gong -------------------------------------------------------------------------------------------------------


def gong_call(i: int) -> dict[str, Any]:
    return {
        "metaData": {"id": str(7000 + i), "title": f"Call {i}", "started": iso(i), "url": f"https://app.gong.io/{i}"},
        "content": {"brief": "A product feedback call", "trackers": [{"name": "Product feedback", "count": 1}]},
        "parties": [],
    }


GONG_SHAPE = Shape(
    name="gong",
    settings={"gong_access_key": "key", "gong_access_key_secret": SECRET},
    url_setting="GONG_API_URL",
    auth_setting="GONG_ACCESS_KEY_SECRET",
    item=gong_call,
    key=lambda i: str(7000 + i),
    page=lambda items, token: ({"calls": items, "records": {"cursor": token} if token else {}}, {}),
    token_in=_json_key("cursor"),
    window_in=_json_key("filter", "fromDateTime"),
    window_for=lambda since: since.isoformat(),
    export_name="calls.json",
    export=lambda ids: json.dumps({"calls": [gong_call(i) for i in ids]}, indent=2),
)

# --- GitHub -----------------------------------------------------------------------------------------------------

GITHUB = "https://api.github.com"


def github_issue(i: int) -> dict[str, Any]:
    return {
        "number": i + 1,
        "title": f"Issue {i}",
        "body": "Please add SSO",
        "html_url": f"https://github.com/acme/app/issues/{i + 1}",
        "created_at": iso(i),
        "updated_at": iso(i),
        "labels": [],
        "reactions": {"+1": 1},
    }


def github_export(ids: list[int]) -> str:
    items = [
        {
            "number": i + 1,
            "title": f"Issue {i}",
            "body": "Please add SSO",
            "url": f"https://github.com/acme/app/issues/{i + 1}",
            "createdAt": iso(i),
            "updatedAt": iso(i),
            "labels": [],
            "reactionGroups": [],
        }
        for i in ids
    ]
    return json.dumps(items, indent=2)


GITHUB_SHAPE = Shape(
    name="github",
    settings={"github_repos": ["acme/app"], "github_token": SECRET},
    url_setting="GITHUB_API_URL",
    auth_setting="GITHUB_TOKEN",
    item=github_issue,
    key=lambda i: f"acme/app#{i + 1}",
    page=lambda items, token: (
        items,
        {"link": f'<{GITHUB}/repositories/1/issues?page={token}>; rel="next"'} if token else {},
    ),
    token_in=_query("page"),
    window_in=_query("since"),
    window_for=lambda since: since.strftime("%Y-%m-%dT%H:%M:%SZ"),
    export_name="issues.json",
    export=github_export,
)

# --- Discord ----------------------------------------------------------------------------------------------------

CHANNEL = "1203998877665544"


def snowflake(i: int) -> str:
    return str((int(at(i).timestamp() * 1000) - DISCORD_EPOCH_MS) << 22)


def discord_message(i: int, *, export: bool = False) -> dict[str, Any]:
    author = {"id": "9", "name": "ana", "isBot": False} if export else {"id": "9", "username": "ana"}
    return {
        "id": snowflake(i),
        "type": "Default" if export else 0,
        "content": f"Message {i}: please add SSO",
        "timestamp": iso(i),
        "author": author,
    }


def discord_export(ids: list[int]) -> str:
    channel = {"id": CHANNEL, "type": "GuildTextChat", "name": "feedback"}
    messages = [discord_message(i, export=True) for i in ids]
    return json.dumps({"guild": {"id": "42"}, "channel": channel, "messages": messages}, indent=2)


DISCORD_SHAPE = Shape(
    name="discord",
    settings={"discord_bot_token": SECRET, "discord_channel_ids": [CHANNEL]},
    url_setting="DISCORD_API_URL",
    auth_setting="DISCORD_BOT_TOKEN",
    item=discord_message,
    key=snowflake,
    page=lambda items, token: (items, {}),  # Discord's next page is implied by a full page (`after` = max id)
    token_in=_query("after"),
    window_in=_query("after"),
    window_for=lambda since: str(snowflake_after(since)),
    export_name="discord.json",
    export=discord_export,
    full_page=100,
    preamble=[{"id": CHANNEL, "type": 0, "guild_id": "42", "name": "feedback"}],
)

# --- Slack ------------------------------------------------------------------------------------------------------

SLACK_CHANNEL = "C07PILOTGLX"


def slack_ts(i: int) -> str:
    return f"{at(i).timestamp():.6f}"


def slack_message(i: int) -> dict[str, Any]:
    return {"type": "message", "user": "U07GLXPRIYA", "text": f"Message {i}: please add SSO", "ts": slack_ts(i)}


def slack_place(tmp_path: Path, day_file: bytes) -> Path:
    """Slack's workspace export layout: channels.json and one file per channel and day."""
    root = tmp_path / "slack_export"
    (root / "pilot-globex").mkdir(parents=True)
    (root / "channels.json").write_text(json.dumps([{"id": SLACK_CHANNEL, "name": "pilot-globex"}]), encoding="utf-8")
    (root / "pilot-globex" / "2026-11-02.json").write_bytes(day_file)
    return root


SLACK_SHAPE = Shape(
    name="slack",
    settings={"slack_bot_token": SECRET, "slack_channel_ids": [SLACK_CHANNEL]},
    url_setting="SLACK_API_URL",
    auth_setting="SLACK_BOT_TOKEN",
    item=slack_message,
    key=lambda i: f"{SLACK_CHANNEL}:{slack_ts(i)}",
    page=lambda items, token: (
        {
            "ok": True,
            "messages": items,
            "has_more": token is not None,
            "response_metadata": {"next_cursor": token or ""},
        },
        {},
    ),
    token_in=_query("cursor"),
    window_in=_query("oldest"),
    window_for=lambda since: f"{since.timestamp():.6f}",
    export_name="slack_export",
    export=lambda ids: json.dumps([slack_message(i) for i in ids], indent=4),
    preamble=[{"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "backlog", "team_id": "T1"}],
    place=slack_place,
)

# --- Salesforce -------------------------------------------------------------------------------------------------

SALESFORCE = "https://acme.my.salesforce.com"


def opportunity(i: int) -> dict[str, Any]:
    oid = f"0068c00001XyZ{i:03d}AAV"
    return {
        "attributes": {"type": "Opportunity", "url": f"/services/data/v61.0/sobjects/Opportunity/{oid}"},
        "Id": oid,
        "Name": f"Deal {i}",
        "Account": {"attributes": {"type": "Account"}, "Name": "Hooli"},
        "StageName": "Closed Lost",
        "Amount": 120000.0,
        "Probability": 0,
        "CloseDate": at(i).date().isoformat(),
        "CreatedDate": at(0).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "LastModifiedDate": at(i).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "Loss_Reason__c": "Lost to Vapi on latency",
    }


def salesforce_export(ids: list[int]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(
        ["Opportunity Name", "Account Name", "Stage", "Amount", "Close Date", "Last Modified Date", "Loss Reason",
         "Opportunity ID"]
    )  # fmt: skip
    for i in ids:
        row = opportunity(i)
        writer.writerow(
            ["Deal", "Hooli", "Closed Lost", "USD 120,000.00", at(i).strftime("%m/%d/%Y"), iso(i), "Latency\nover 1s",
             row["Id"]]
        )  # fmt: skip
    return out.getvalue()


def _soql_since(request: httpx.Request) -> str | None:
    found = re.search(r"LastModifiedDate >= (\S+)", request.url.params.get("q", ""))
    return found.group(1) if found else None


SALESFORCE_SHAPE = Shape(
    name="salesforce",
    settings={"salesforce_instance_url": SALESFORCE, "salesforce_access_token": SECRET},
    url_setting="SALESFORCE_INSTANCE_URL",
    auth_setting="SALESFORCE_ACCESS_TOKEN",
    item=opportunity,
    key=lambda i: str(opportunity(i)["Id"]),
    page=lambda items, token: (
        {
            "totalSize": 3,
            "done": token is None,
            **({"nextRecordsUrl": f"/services/data/v61.0/query/01gD0000002HU6KIAW-{token}"} if token else {}),
            "records": items,
        },
        {},
    ),
    token_in=lambda request: request.url.path.rsplit("-", 1)[-1],
    window_in=_soql_since,
    window_for=lambda since: since.strftime("%Y-%m-%dT%H:%M:%SZ"),
    export_name="lost_deals.csv",
    export=salesforce_export,
)

# --- Trustpilot -------------------------------------------------------------------------------------------------

TRUSTPILOT = "https://api.trustpilot.com"


def trustpilot_review(i: int) -> dict[str, Any]:
    return {
        "id": f"6728f1a2b4c5d60012e3f{i:03d}",
        "consumer": {"id": "5d3e9a0b1c2f4e0011a2b3c4", "displayName": "Ana", "numberOfReviews": 3},
        "stars": 4,
        "title": f"Review {i}",
        "text": "Please add SSO",
        "language": "en",
        "createdAt": at(i).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "updatedAt": None,
        "numberOfLikes": 0,
        "status": "active",
    }


def trustpilot_export(ids: list[int]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Review ID", "Review Created (UTC)", "Review Title", "Review Content", "Review Stars"])
    for i in ids:
        writer.writerow(
            [trustpilot_review(i)["id"], at(i).strftime("%Y-%m-%d %H:%M:%S"), f"Review {i}", "SSO\nplease", 4]
        )
    return out.getvalue()


TRUSTPILOT_SHAPE = Shape(
    name="trustpilot",
    settings={"trustpilot_api_key": SECRET, "trustpilot_business_unit_id": "5f4c2a9b8e1d3a0012ab34cd"},
    url_setting="TRUSTPILOT_API_URL",
    auth_setting="TRUSTPILOT_API_KEY",
    item=trustpilot_review,
    key=lambda i: str(trustpilot_review(i)["id"]),
    page=lambda items, token: (
        {
            "links": [
                {
                    "href": f"{TRUSTPILOT}/v1/business-units/5f4c2a9b8e1d3a0012ab34cd/reviews?page={token}&perPage=100",
                    "method": "GET",
                    "rel": "next-page",
                }
            ]
            if token
            else [],
            "reviews": items,
        },
        {},
    ),
    token_in=_query("page"),
    window_in=_query("startDateTime"),
    window_for=lambda since: since.strftime("%Y-%m-%dT%H:%M:%SZ"),
    export_name="trustpilot.csv",
    export=trustpilot_export,
)

# --- PagerDuty --------------------------------------------------------------------------------------------------


def pd_incident(i: int) -> dict[str, Any]:
    iid = f"Q1WHK{i:03d}"
    return {
        "id": iid,
        "type": "incident",
        "incident_number": 2000 + i,
        "title": f"Webhook failures {i}",
        "html_url": f"https://acme.pagerduty.com/incidents/{iid}",
        "created_at": iso(i),
        "updated_at": iso(i),
        "status": "resolved",
        "resolved_at": iso(i),
        "urgency": "high",
        "service": {"id": "PWHOOKS", "type": "service_reference", "summary": "Webhook Dispatcher"},
    }


PAGERDUTY_SHAPE = Shape(
    name="pagerduty",
    settings={"pagerduty_api_token": SECRET, "pagerduty_service_ids": ["PWHOOKS"]},
    url_setting="PAGERDUTY_API_URL",
    auth_setting="PAGERDUTY_API_TOKEN",
    item=pd_incident,
    key=lambda i: f"Q1WHK{i:03d}",
    page=lambda items, token: (
        {"incidents": items, "limit": 2, "offset": 0, "more": token is not None, "total": None},
        {},
    ),
    token_in=_query("offset"),
    window_in=_query("since"),
    window_for=lambda since: since.strftime("%Y-%m-%dT%H:%M:%SZ"),
    export_name="incidents.json",
    export=lambda ids: json.dumps([{"incidents": [pd_incident(i) for i in ids], "more": False}], indent=2),
    next_token="2",  # offset 0 + limit 2
)

# --- Tech-debt tracker (export only: a spreadsheet has no API we read) -------------------------------------------


def tracker_export(ids: list[int]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ID", "Title", "Description", "Owner", "Updated"])
    for i in ids:
        writer.writerow([f"TD-{i}", f"Debt {i}", "Slow\nbuild", "Amir", iso(i)])
    return out.getvalue()


def _no_api(*_args: Any) -> Any:
    raise AssertionError("the tracker has no API")


TRACKER_SHAPE = Shape(
    name="tracker",
    settings={},
    url_setting="",
    auth_setting="",
    item=_no_api,
    key=lambda i: f"TD-{i}",
    page=_no_api,
    token_in=_no_api,
    window_in=_no_api,
    window_for=_no_api,
    export_name="tech_debt.csv",
    export=tracker_export,
)

SHAPES = [
    ZENDESK_SHAPE,
    G2_SHAPE,
    GONG_SHAPE,
    GITHUB_SHAPE,
    DISCORD_SHAPE,
    SLACK_SHAPE,
    SALESFORCE_SHAPE,
    TRUSTPILOT_SHAPE,
    PAGERDUTY_SHAPE,
]
EXPORT_SHAPES = [*SHAPES, TRACKER_SHAPE]


@pytest.fixture(params=SHAPES, ids=[shape.name for shape in SHAPES])
def shape(request: pytest.FixtureRequest) -> Shape:
    param: Shape = request.param
    return param


def connector(shape: Shape, tmp_path: Path, fake: FakeTime, **overrides: Any) -> Connector:
    values = {**shape.settings, "backlog_cache_dir": tmp_path / "cache", **overrides}
    return build_connector(Settings(**values), shape.name, sleep=fake.sleep, clock=fake.clock)


def serve(httpx_mock: HTTPXMock, shape: Shape, pages: list[Body]) -> None:
    for body in shape.preamble:
        httpx_mock.add_response(json=body)
    for body, headers in pages:
        httpx_mock.add_response(json=body, headers=headers)


def page_requests(httpx_mock: HTTPXMock, shape: Shape) -> list[httpx.Request]:
    return httpx_mock.get_requests()[len(shape.preamble) :]


def keys(signals: list[Signal]) -> list[str]:
    return [signal.external_id for signal in signals]


# --- the contract -----------------------------------------------------------------------------------------------


def test_pagination_reads_every_page_to_the_end(shape: Shape, httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    first = list(range(shape.full_page))
    serve(httpx_mock, shape, [shape.page([shape.item(i) for i in first], "t2"), shape.page([shape.item(50)], None)])
    # Discord's next token is the first page's largest id; the others' is the one the page named.
    expected_token = max(shape.key(i) for i in first) if shape.name == "discord" else shape.next_token
    source = connector(shape, tmp_path, FakeTime())

    signals = list(source.read_api(None))

    assert sorted(keys(signals)) == sorted(shape.key(i) for i in [*first, 50])
    second = page_requests(httpx_mock, shape)[1]
    assert shape.token_in(second) == expected_token  # the paginator placed the token in the next request
    assert source.calls == len(shape.preamble) + 2
    assert source.problems == []


def test_cursor_resume_is_a_closed_start(shape: Shape, httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    serve(httpx_mock, shape, [shape.page([shape.item(0), shape.item(1), shape.item(2)], None)])
    since = at(1)

    signals = list(connector(shape, tmp_path, FakeTime()).read_api(since))

    assert keys(signals) == [shape.key(1), shape.key(2)]  # updated AT the cursor is read again; older is not
    first = page_requests(httpx_mock, shape)[0]
    assert shape.window_in(first) == shape.window_for(since)  # the window went into the request once


def test_429_waits_the_retry_after_it_was_told(shape: Shape, httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    for body in shape.preamble:
        httpx_mock.add_response(json=body)
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "7"}, text="slow down")
    body, headers = shape.page([shape.item(0)], None)
    httpx_mock.add_response(json=body, headers=headers)
    fake = FakeTime()

    signals = list(connector(shape, tmp_path, fake).read_api(None))

    assert keys(signals) == [shape.key(0)]
    assert 7.0 in fake.sleeps


def test_5xx_then_success_is_retried_with_back_off(shape: Shape, httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    for body in shape.preamble:
        httpx_mock.add_response(json=body)
    httpx_mock.add_response(status_code=503, json={"message": "try later"})
    body, headers = shape.page([shape.item(0)], None)
    httpx_mock.add_response(json=body, headers=headers)
    fake = FakeTime()
    source = connector(shape, tmp_path, fake)

    signals = list(source.read_api(None))

    assert keys(signals) == [shape.key(0)]
    assert source.calls == len(shape.preamble) + 2
    assert fake.sleeps  # the retry waited (through the injected sleep)


def test_401_names_the_setting_and_never_the_secret(shape: Shape, httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    httpx_mock.add_response(status_code=401, json={"message": "Bad credentials"})

    with pytest.raises(SourceAuthError) as caught:
        list(connector(shape, tmp_path, FakeTime()).read_api(None))

    assert shape.auth_setting in str(caught.value)
    assert SECRET not in str(caught.value)
    assert len(httpx_mock.get_requests()) == 1  # a bad token is not asked again


def test_malformed_payload_is_a_clear_error(shape: Shape, httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    serve(httpx_mock, shape, [({"unexpected": True}, {})])

    with pytest.raises(MalformedPayloadError) as caught:
        list(connector(shape, tmp_path, FakeTime()).read_api(None))

    message = str(caught.value)
    assert message.startswith(f"{shape.name}: ")
    assert "expected" in message
    assert "unexpected" in message  # what was found instead


@pytest.mark.parametrize("shape", EXPORT_SHAPES, ids=[shape.name for shape in EXPORT_SHAPES])
@pytest.mark.parametrize(("bom", "newline"), [("\ufeff", "\n"), ("", "\r\n"), ("\ufeff", "\r\n")])
def test_export_with_bom_and_crlf_is_read(shape: Shape, tmp_path: Path, bom: str, newline: str) -> None:
    content = (bom + shape.export([0, 1, 2]).replace("\n", newline)).encode("utf-8")
    if shape.place is not None:
        path = shape.place(tmp_path, content)
    else:
        path = tmp_path / shape.export_name
        path.write_bytes(content)
    values: dict[str, Any] = {f"{shape.name}_export_path": path}
    source = build_connector(Settings(**values), shape.name)

    signals = list(source.read(at(1)))

    assert keys(signals) == [shape.key(1), shape.key(2)]
    assert source.problems == []


def test_base_url_without_a_scheme_is_a_config_error_not_a_retry(
    shape: Shape, httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    bare = "ftp://acme.zendesk.com" if shape.name == "zendesk" else "api.example.com"  # Zendesk adds https to hosts
    fake = FakeTime()
    source = connector(shape, tmp_path, fake, **{shape.url_setting.lower(): bare})

    with pytest.raises(SourceConfigError) as caught:
        list(source.read_api(None))

    assert shape.url_setting in str(caught.value)
    assert "https://" in str(caught.value)  # the message shows the fix
    assert httpx_mock.get_requests() == []
    assert fake.sleeps == []  # nothing was retried


def test_zendesk_bare_subdomain_is_one_url_for_sync_and_doctor(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    settings = Settings(**{**ZENDESK_SHAPE.settings, "zendesk_url": "acme"})
    httpx_mock.add_response(url=f"{ZENDESK}/api/v2/users/me.json", json={"user": {"role": "admin"}})
    httpx_mock.add_response(json=ZENDESK_SHAPE.page([zendesk_ticket(0)], None)[0])

    checks = source_checks(settings, "zendesk", None)  # what `backlog doctor` runs
    signals = list(build_connector(settings, "zendesk").read_api(None))  # what `backlog sync` runs

    assert [(check.name, check.ok) for check in checks] == [("auth + admin rights", True)]
    assert keys(signals) == [ZENDESK_SHAPE.key(0)]
    assert signals[0].url == f"{ZENDESK}/agent/tickets/100"
    assert {str(request.url.copy_with(query=None)).split("/api/")[0] for request in httpx_mock.get_requests()} == {
        ZENDESK
    }


def test_doctor_has_a_line_for_every_configured_source() -> None:
    """`backlog doctor` iterates the registry: each source with its demo export configured shows a passing line."""
    settings = Settings(**export_overrides(REPO_ROOT / "deploy" / "demo"))

    lines = {name: source_checks(settings, name, None) for name in CONNECTORS}

    assert set(lines) == {shape.name for shape in EXPORT_SHAPES}
    assert all(checks and all(check.ok for check in checks) for checks in lines.values()), lines
