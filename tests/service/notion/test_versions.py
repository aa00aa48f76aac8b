"""The per-version facts and helpers of `service.notion.versions`, and the NOTION_API_VERSION setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.notion.codecs import decode_properties
from service.notion.versions import (
    DEFAULT,
    VERSIONS,
    filter_properties_for,
    is_trashed,
    status_filter,
    title_property_ids,
    version,
)
from service.settings import NOTION_API_VERSIONS, Settings

SCHEMA = {
    "Name": {"id": "title", "type": "title"},
    "Source Key": {"id": "a%3Fb", "type": "rich_text"},
    "Status": {"id": "st", "type": "select"},
}


def test_the_default_is_2026_03_11_and_every_supported_version_has_facts() -> None:
    assert Settings().notion_api_version == "2026-03-11" == DEFAULT.name
    assert tuple(VERSIONS) == NOTION_API_VERSIONS
    assert [v.name for v in VERSIONS.values() if v.title_only_lists] == ["2026-12-01"]
    assert [v.name for v in VERSIONS.values() if v.shows_archived] == ["2025-09-03"]
    assert not version("2026-12-01").status_equals_matches_groups
    assert version("2026-12-01").needs_filter_properties


@pytest.mark.parametrize("value", ["2022-06-28", "latest", ""])
def test_an_unknown_version_names_the_setting_and_the_accepted_values(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(notion_api_version=value)
    message = str(caught.value)
    assert "NOTION_API_VERSION" in message
    assert "2025-09-03, 2026-03-11, 2026-12-01" in message


def test_filter_properties_are_the_ids_of_the_properties_read_in_order_without_unknown_names() -> None:
    ids = filter_properties_for(["Status", "Name", "Nope", "Status"], SCHEMA)
    assert ids == ["st", "title"]  # unknown names are left out: Notion answers 400 to them
    assert filter_properties_for([], SCHEMA) == []
    assert title_property_ids(SCHEMA) == ["title"]


def test_status_filters_use_an_option_name_in_the_property_type_s_own_form() -> None:
    assert status_filter("Status", "status", "Done") == {"property": "Status", "status": {"equals": "Done"}}
    assert status_filter("Status", "select", "Done") == {"property": "Status", "select": {"equals": "Done"}}
    with pytest.raises(ValueError, match="status or select"):
        status_filter("Status", "rich_text", "Done")


def test_trash_is_read_from_in_trash_or_the_old_archived_alias() -> None:
    assert is_trashed({"in_trash": True})
    assert is_trashed({"archived": True})
    assert not is_trashed({"in_trash": False, "archived": False})
    assert not is_trashed({})


def test_a_person_without_a_name_2026_12_01_decodes_to_their_id() -> None:
    people = {"type": "people", "people": [{"object": "user", "id": "u-1", "name": None}, {"id": "u-2", "name": "Ann"}]}
    assert decode_properties({"Owner": people})["Owner"] == ("u-1", "Ann")
