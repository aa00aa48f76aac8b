"""`backlog.toml` -> Policy: defaults on a fresh machine, errors that name the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.policy import Policy
from service.policy_file import ConfigError, load_policy, policy_for
from service.settings import Settings


def test_a_missing_file_at_the_default_path_means_the_seed_defaults(tmp_path: Path) -> None:
    settings = Settings()  # BACKLOG_CONFIG not set by the operator
    assert "backlog_config" not in settings.model_fields_set

    assert load_policy(tmp_path / "absent.toml") == Policy()


def test_a_missing_file_the_operator_named_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"

    with pytest.raises(ConfigError, match=r"BACKLOG_CONFIG=.*absent\.toml does not exist; create it"):
        policy_for(Settings(backlog_config=missing))


def test_policy_for_reads_the_file_the_operator_named(tmp_path: Path) -> None:
    path = tmp_path / "backlog.toml"
    path.write_text('product = "Phone Agents"\nframework = "ice"\n', encoding="utf-8")

    policy = policy_for(Settings(backlog_config=path))

    assert (policy.product, policy.framework) == ("Phone Agents", "ice")


def test_syntax_errors_and_unknown_keys_name_the_file_and_the_key(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("product = \n", encoding="utf-8")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[capacity]\nsprint_weeks = 3\nvelocity = 9\n", encoding="utf-8")

    with pytest.raises(ConfigError, match=r"broken\.toml: invalid TOML"):
        load_policy(broken, explicit=True)
    with pytest.raises(ConfigError, match=r"unknown\.toml: \[capacity\.velocity\] Extra inputs are not permitted"):
        load_policy(unknown, explicit=True)
