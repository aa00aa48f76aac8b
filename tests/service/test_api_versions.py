"""The service end to end on the sandbox under each supported Notion-Version: `init` -> `sync` (demo exports) ->
`score` -> `report`, through the command line with NOTION_API_VERSION set, must leave the same rows with the
same RICE scores. The sandbox answers each version as api.notion.com does (service/sandbox/versions.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.app.cli import app
from service.settings import NOTION_API_VERSIONS
from tests.fakes.sandbox_helpers import DEMO_CONFIG, DEMO_EXPORTS, DEMO_TOTAL, sandbox_gateway, sandbox_settings

REACH, IMPACT = ("10", "5", "3", "1"), ("3", "2", "1", "0.5")
CONFIDENCE, EFFORT = ("100%", "80%", "50%"), ("XS", "S", "M", "L", "XL")
VERSION_PARAMS = [pytest.param(name) for name in NOTION_API_VERSIONS]


def pm_inputs(source_key: str) -> dict[str, Any]:
    """Reach/Impact/Confidence/Effort picked from the Source Key, so every version gets the same inputs."""
    pick = sum(source_key.encode()) if source_key != "None" else 0
    return {
        "Reach": REACH[pick % len(REACH)],
        "Impact": IMPACT[pick % len(IMPACT)],
        "Confidence": CONFIDENCE[pick % len(CONFIDENCE)],
        "Effort": EFFORT[pick % len(EFFORT)],
    }


def invoke(runner: CliRunner, argv: list[str], notion_version: str) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, f"{argv} under {notion_version}: {result.output}"


def run_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notion_version: str) -> dict[str, Any]:
    """init -> sync -> score -> report on a fresh sandbox under `notion_version`; every row's scoring result."""
    monkeypatch.setenv("NOTION_API_VERSION", notion_version)
    monkeypatch.setenv("BACKLOG_SANDBOX_PATH", str(tmp_path / "sandbox.sqlite3"))
    monkeypatch.setenv("BACKLOG_LOCK_PATH", str(tmp_path / "run.lock"))
    monkeypatch.setenv("BACKLOG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BACKLOG_CONFIG", str(DEMO_CONFIG))
    monkeypatch.setenv("BACKLOG_LOG_LEVEL", "WARNING")
    for name, path in DEMO_EXPORTS.items():
        monkeypatch.setenv(name.upper(), str(path))
    runner = CliRunner()
    for argv in (["init"], ["sync"]):
        invoke(runner, argv, notion_version)
    settings = sandbox_settings(tmp_path, notion_api_version=notion_version)
    with sandbox_gateway(settings, init=False) as gateway:
        for row in gateway.iter_rows():  # the PM's RICE inputs, the same on every version
            gateway.update_properties(row.page_id, pm_inputs(str(row.source_key)))
    for argv in (["score"], ["report", "--sprint", "1", "--start", "2026-11-30"]):
        invoke(runner, argv, notion_version)
    with sandbox_gateway(settings, init=False) as gateway:
        rows = list(gateway.iter_rows())
    return {
        str(row.source_key): (row.get("Name"), row.get("Status"), row.get("RICE"), row.get("Rank"), row.get("Sprint"))
        for row in rows
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The result under the oldest version (the shape the cassettes were recorded in)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
        return run_pipeline(tmp_path_factory.mktemp("reference"), monkeypatch, NOTION_API_VERSIONS[0])


@pytest.mark.parametrize("notion_version", VERSION_PARAMS)
def test_the_pipeline_gives_the_same_rows_and_scores_on_every_version(
    notion_version: str, reference: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_pipeline(tmp_path, monkeypatch, notion_version)

    assert len(result) == DEMO_TOTAL
    scored = [score for _name, _status, score, _rank, _sprint in result.values() if score is not None]
    assert len(scored) >= DEMO_TOTAL // 2  # the PM's inputs gave most rows a RICE score
    assert result == reference


def test_an_unknown_version_is_a_configuration_error_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTION_API_VERSION", "2022-06-28")

    result = CliRunner().invoke(app, ["init"])

    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())
    assert "NOTION_API_VERSION" in text
    assert "2025-09-03, 2026-03-11, 2026-12-01" in text
