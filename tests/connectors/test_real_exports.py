"""Every real-shaped sample in tests/fixtures/exports imports (issue 11): rows, Source Keys, customers, notices."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Connector
from connectors.discord import DiscordConfig, DiscordConnector
from connectors.g2 import G2Config, G2Connector
from connectors.github import GitHubConfig, GitHubConnector
from connectors.gong import GongConfig, GongConnector
from connectors.http import MalformedPayloadError
from connectors.signal import Signal
from connectors.zendesk import ZendeskConfig, ZendeskConnector

EXPORTS = Path(__file__).parents[1] / "fixtures" / "exports"


def read(connector: Connector) -> dict[str, Signal]:
    return {s.source_key: s for s in connector.read_export(None)}


def github(path: Path) -> GitHubConnector:
    return GitHubConnector(GitHubConfig(export_path=path))


def zendesk(path: Path, **extra: Any) -> ZendeskConnector:
    return ZendeskConnector(ZendeskConfig(export_path=path, **extra))


def g2(path: Path) -> G2Connector:
    return G2Connector(G2Config(export_path=path))


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("gh_issue_list_subset.json", 9),
        ("gh_issue_list_full.json", 10),
        ("rest_issues_page.json", 9),
        ("rest_issues_paginate.json", 10),
        ("gh_issue_list_utf16.json", 9),
        ("gh_issue_list_bom.json", 9),
    ],
)
def test_github_samples_import(name: str, rows: int) -> None:
    connector = github(EXPORTS / "github" / name)
    signals = read(connector)
    assert len(signals) == rows
    assert connector.problems == []
    assert "github:wavelength-ai/open-voice#412" in signals
    assert all(s.customer is None for s in signals.values())
    assert not any("/pull/" in (s.url or "") for s in signals.values())


def test_github_votes_come_from_thumbs_up_in_gh_and_plus_one_in_rest() -> None:
    for name in ("gh_issue_list_full.json", "rest_issues_page.json"):
        assert read(github(EXPORTS / "github" / name))["github:wavelength-ai/open-voice#418"].votes == 41


def test_github_subset_says_once_which_fields_are_missing_and_how_to_add_them() -> None:
    connector = github(EXPORTS / "github" / "gh_issue_list_subset.json")
    signals = read(connector)
    assert len(connector.notices) == 1
    assert "createdAt" in connector.notices[0]
    assert "gh issue list --state all --json" in connector.notices[0]
    first = signals["github:wavelength-ai/open-voice#412"]
    assert first.created_at == first.updated_at


@pytest.mark.parametrize("name", ["incremental_with_orgs.json", "incremental_no_orgs.json", "search_export.json"])
def test_zendesk_samples_import(name: str, tmp_path: Path) -> None:
    rows = 5 if name == "search_export.json" else 8
    # beside organizations.json, every source of names gives the same customers
    shutil.copy(EXPORTS / "zendesk" / name, tmp_path / name)
    shutil.copy(EXPORTS / "zendesk" / "organizations.json", tmp_path / "organizations.json")
    signals = read(zendesk(tmp_path / name))
    assert len(signals) == rows
    assert signals["zendesk:35436"].customer == "Acme Health"
    assert signals["zendesk:35452"].customer == "Stark Retail"
    if rows == 8:
        assert signals["zendesk:35507"].customer == "Globex Bank"
        assert signals["zendesk:35441"].customer == "Acme Health"
        assert signals["zendesk:35452"].customer == "Stark Retail"
        assert signals["zendesk:35489"].customer == "Vandelay Industries"
        assert signals["zendesk:35502"].customer is None


def test_zendesk_side_load_gives_customers_without_a_companion_file() -> None:
    signals = read(zendesk(EXPORTS / "zendesk" / "incremental_with_orgs.json"))
    assert signals["zendesk:35452"].customer == "Stark Retail"


def test_zendesk_without_organizations_says_once_how_to_fix_it_and_a_map_fixes_it(tmp_path: Path) -> None:
    path = tmp_path / "tickets.json"  # alone: no organizations.json beside it
    shutil.copy(EXPORTS / "zendesk" / "incremental_no_orgs.json", path)
    connector = zendesk(path)
    read(connector)
    assert len(connector.notices) == 1
    assert "include=organizations" in connector.notices[0]
    orgs = json.loads((EXPORTS / "zendesk" / "organizations.json").read_text())["organizations"]
    mapped = zendesk(path, organizations={o["id"]: o["name"] for o in orgs})
    assert read(mapped)["zendesk:35452"].customer == "Stark Retail"
    assert mapped.notices == []
    from_toml = zendesk(path)  # what sync does with backlog.toml's [zendesk.organizations]
    from_toml.known_organizations({str(o["id"]): o["name"] for o in orgs})
    assert read(from_toml)["zendesk:35489"].customer == "Vandelay Industries"


def test_zendesk_organizations_list_as_the_ticket_file_is_one_clear_error() -> None:
    with pytest.raises(MalformedPayloadError, match="organizations list"):
        read(zendesk(EXPORTS / "zendesk" / "organizations.json"))


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("myg2_review_activity.csv", 8),
        ("jsonapi_flattened.csv", 8),
        ("sheets_lowercase.csv", 8),
        ("excel_latin1_crlf.csv", 6),
        ("crlf_multiline.csv", 8),
        ("review_cell_over_200kb.csv", 4),
    ],
)
def test_g2_csv_samples_import(name: str, rows: int) -> None:
    connector = g2(EXPORTS / "g2" / name)
    signals = read(connector)
    assert len(signals) == rows
    assert connector.problems == []
    assert "g2:10458812" in signals
    if name != "jsonapi_flattened.csv":  # the flattened API has no company column
        assert signals["g2:10458812"].customer == "Acme Health"
        assert "segment:enterprise" in signals["g2:10458812"].tags


def test_g2_latin1_file_keeps_accents_with_one_warning() -> None:
    connector = g2(EXPORTS / "g2" / "excel_latin1_crlf.csv")
    signals = read(connector)
    assert signals["g2:10464101"].customer == "Société Générale d'Assurances Mutuelles"
    assert signals["g2:10464388"].customer == "Logística Müller S.A."
    assert signals["g2:10464512"].customer == "Bäckerei Größl GmbH"
    assert len(connector.notices) == 1
    assert "Latin-1" in connector.notices[0]


def test_g2_header_matching_nothing_is_one_error_listing_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text("foo,bar\n1,2\n3,4\n", encoding="utf-8")
    connector = g2(path)
    with pytest.raises(MalformedPayloadError, match=r"reviews\.csv:1: no known column.*Review ID"):
        read(connector)
    assert connector.problems == []


def test_g2_api_include_user_gives_the_reviewer_company() -> None:
    body = json.loads((EXPORTS / "g2" / "api_reviews_include_user.json").read_text())
    connector = g2(EXPORTS / "g2" / "myg2_review_activity.csv")
    connector._included = __import__("connectors.g2", fromlist=["x"])._included_by_key(body["included"])
    signals = {s.external_id: s for s in (connector.to_signal(item, "api") for item in body["data"]) if s}
    assert len(signals) == 8
    assert signals["10458812"].customer == "Acme Health"
    assert signals["10460871"].customer == "Stark Retail"
    assert signals["10459120"].customer is None
    from connectors.cursor import Window

    assert connector.params(Window.since(None))["include"] == "user"


def test_gong_calls_extensive_keeps_the_customer_quote_keyed_by_speaker_id_capital_d() -> None:
    connector = GongConnector(GongConfig(export_path=EXPORTS / "gong" / "calls_extensive.json"))
    signals = read(connector)
    assert len(signals) == 5
    assert "gong:7782342274025938733" not in signals
    acme = signals["gong:7782342274025937895"]
    assert acme.customer == "Acme Health"
    assert "If you can get the first word under 300 milliseconds we roll out to every clinic." in acme.text
    assert "I'll send a recap" not in acme.text
    assert signals["gong:7782342274025938012"].customer == "Globex Bank"


def test_gong_transcript_alone_is_one_clear_file_error() -> None:
    connector = GongConnector(GongConfig(export_path=EXPORTS / "gong" / "calls_transcript.json"))
    with pytest.raises(MalformedPayloadError, match="transcript"):
        read(connector)


def discord(path: Path) -> DiscordConnector:
    return DiscordConnector(DiscordConfig(export_path=path))


def test_discord_channel_export_folds_the_team_reply_into_the_request() -> None:
    signals = read(discord(EXPORTS / "discord" / "channel_export.json"))
    assert len(signals) == 6
    latency = signals["discord:1567116609292730370"]
    assert "streaming engine" in latency.text
    assert latency.url == ("https://discord.com/channels/1174829031647502336/1174830417739145277/1567116609292730370")
    assert signals["discord:1566839340057886721"].votes == 4


def test_discord_thread_export_alone_is_one_row_keyed_by_the_starter() -> None:
    signals = read(discord(EXPORTS / "discord" / "thread_export.json"))
    assert list(signals) == ["discord:1567116609292730370"]
    assert "Stark sees the same on 8kHz lines." in signals["discord:1567116609292730370"].text


def test_discord_thread_beside_channel_in_one_file_joins_the_starter_row(tmp_path: Path) -> None:
    both = [json.loads((EXPORTS / "discord" / n).read_text()) for n in ("channel_export.json", "thread_export.json")]
    path = tmp_path / "both.json"
    path.write_text(json.dumps(both), encoding="utf-8")
    signals = read(discord(path))
    assert len(signals) == 6
    assert "Stark sees the same on 8kHz lines." in signals["discord:1567116609292730370"].text


def test_discord_dm_export_uses_at_me_urls() -> None:
    signals = read(discord(EXPORTS / "discord" / "dm_export.json"))
    assert len(signals) == 5
    row = signals["discord:1569381049958531102"]
    assert row.url == "https://discord.com/channels/@me/1170000123456789012/1569381049958531102"
