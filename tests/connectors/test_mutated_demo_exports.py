"""Every file source's sample export, mutated (tests/fixtures/mutations.py), through its connector: a variant is
read, or fails as one SourceError naming the file; a skipped row names the file; nothing else ever leaves the
read (sync turns anything else into a failed source, but it is a gap in the parser all the same)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from service.pipelines.demo import EXPORTS
from service.pipelines.sources import build_connector
from service.settings import Settings
from tests import REPO_ROOT
from tests.fixtures.mutations import read_all, variants

DEMO = REPO_ROOT / "deploy" / "demo"
FILE_SOURCES = {setting: name for setting, name in EXPORTS.items() if (DEMO / name).is_file()}


def corpus() -> list[Any]:
    return [
        pytest.param(setting, label, content, id=f"{setting.removesuffix('_export_path')}-{label}")
        for setting, name in FILE_SOURCES.items()
        for label, content in variants(DEMO / name)
    ]


SLACK = DEMO / "slack_export"
SLACK_FILES = ("channels.json", "users.json", "ext-globex-bank-pilot/2026-11-05.json")


def slack_corpus() -> list[Any]:
    """The Slack export is a folder: each of its kinds of file mutated in turn, the others left as exported."""
    return [
        pytest.param(member, label, content, id=f"slack-{member.split('/')[0]}-{label}")
        for member in SLACK_FILES
        for label, content in variants(SLACK / member)
    ]


@pytest.mark.parametrize(("member", "label", "content"), slack_corpus())
def test_a_mutated_file_of_the_slack_export_is_read_or_fails_naming_it(
    member: str, label: str, content: bytes, tmp_path: Path
) -> None:
    folder = tmp_path / "slack_export"
    shutil.copytree(SLACK, folder)
    (folder / member).write_bytes(content)
    connector = build_connector(Settings(slack_export_path=folder), "slack")
    _, error = read_all(connector.read(None))
    if error is not None:
        assert Path(member).name in str(error) or str(folder) in str(error), f"{label}: {error}"
    for problem in connector.problems:
        assert str(folder) in str(problem.where) or Path(member).name in str(problem.where), f"{label}: {problem}"


def test_the_corpus_covers_every_file_source() -> None:
    assert len(FILE_SOURCES) >= 9  # zendesk g2 gong github discord salesforce trustpilot pagerduty tracker
    assert len(corpus()) >= 9 * 15


@pytest.mark.parametrize(("setting", "label", "content"), corpus())
def test_a_mutated_export_is_read_or_fails_naming_its_file(
    setting: str, label: str, content: bytes, tmp_path: Path
) -> None:
    path = tmp_path / FILE_SOURCES[setting]
    path.write_bytes(content)
    source = setting.removesuffix("_export_path")
    connector = build_connector(Settings(**{setting: path}), source)  # type: ignore[arg-type]
    signals, error = read_all(connector.read(None))
    if error is not None:
        assert path.name in str(error), f"{label}: {error}"
        return
    for problem in connector.problems:
        assert path.name in str(problem.where), f"{label}: {problem}"
    for signal in signals:
        assert signal.source_key.startswith(f"{signal.source.value}:"), signal.source_key
