"""The generated hostile `backlog.toml` corpus: each case loads or is one ConfigError naming the key, no traceback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from service.policy_file import ConfigError, load_policy
from tests import REPO_ROOT
from tests.fixtures.hostile import PATH_CASES, TomlExpect, toml_cases

BASE = (REPO_ROOT / "deploy" / "demo" / "backlog.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in toml_cases(BASE)])
def test_hostile_toml_loads_or_is_one_error_naming_the_key(case: Any, tmp_path: Path) -> None:
    path = tmp_path / "backlog.toml"
    path.write_bytes(case.content)
    if case.expect is TomlExpect.OK:
        load_policy(path, explicit=True)
        return
    with pytest.raises(ConfigError) as info:
        load_policy(path, explicit=True)
    message = str(info.value)
    assert str(path) in message
    key = case.key.split(":")[0].split(" ")[0]
    if key and not key.startswith(("line", "last", "say", "BOM")):
        assert key.split(".")[-1] in message, message
    assert len(message) < 2000


def test_unknown_keys_suggest_the_closest_known_one(tmp_path: Path) -> None:
    path = tmp_path / "backlog.toml"
    path.write_text("[capacity]\nsprint_week = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[capacity\.sprint_week\].*did you mean sprint_weeks\?"):
        load_policy(path, explicit=True)


def test_zendesk_organization_map_loads(tmp_path: Path) -> None:
    path = tmp_path / "backlog.toml"
    path.write_text('[zendesk.organizations]\n22905618471059 = "Acme Health"\n', encoding="utf-8")
    assert load_policy(path).zendesk.organizations == {"22905618471059": "Acme Health"}


@pytest.mark.parametrize("case", ["directory", "fifo", "device"])
def test_a_config_path_that_is_not_a_file_is_refused_at_once(case: str, tmp_path: Path) -> None:
    path = PATH_CASES[case](tmp_path)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_policy(path, explicit=True)


def test_an_unreadable_config_is_refused(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(PATH_CASES["unreadable"](tmp_path), explicit=True)
