"""The generated hostile corpus (tests/fixtures/hostile.py) through every export parser: no traceback, ever.

Each case: only a `SourceError` (a file error naming the file) may leave the read; the good rows land; a bad
row is a problem naming the file and line. Small corpus in CI (`large=False`) plus one 5,000-row file each.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Connector
from connectors.discord import DiscordConfig, DiscordConnector
from connectors.g2 import G2Config, G2Connector
from connectors.github import GitHubConfig, GitHubConnector
from connectors.gong import GongConfig, GongConnector
from connectors.http import SourceConfigError, SourceError
from connectors.zendesk import ZendeskConfig, ZendeskConnector
from scoring.policy import Policy
from service.pipelines.mapping import signal_to_write
from tests.fixtures.hostile import PATH_CASES, SHAPES, Expect, base_from_sample, cases, many_rows


def make(source: str, path: Path) -> Connector:
    if source.startswith("github"):
        return GitHubConnector(GitHubConfig(export_path=path))
    if source == "zendesk":
        return ZendeskConnector(ZendeskConfig(export_path=path, tags=()))
    if source == "g2":
        return G2Connector(G2Config(export_path=path))
    if source == "gong":
        return GongConnector(GongConfig(export_path=path, trackers=()))
    return DiscordConnector(DiscordConfig(export_path=path))


def corpus() -> list[Any]:
    params: list[Any] = []
    for source in SHAPES:
        shape, base = base_from_sample(source)
        # DiscordChatExporter writes one JSON document per channel: NDJSON is not one of its formats
        formats = ("csv",) if shape.format == "csv" else ("json",) if source == "discord" else ("json", "ndjson")
        for fmt in formats:
            params.extend(
                pytest.param(source, fmt, case, id=f"{source}-{fmt}-{case.name}")
                for case in cases(fmt, base, shape, large=False)
            )
    return params


def run(source: str, fmt: str, content: bytes, tmp_path: Path) -> tuple[Connector, list[Any], SourceError | None]:
    path = tmp_path / f"export.{'csv' if fmt == 'csv' else 'json'}"
    path.write_bytes(content)
    connector = make(source, path)
    error: SourceError | None = None
    rows: list[Any] = []
    try:
        rows = list(connector.read_export(None))
    except SourceError as exc:  # a file error: anything else is a traceback and fails the test
        error = exc
    if error is not None:
        assert str(path) in str(error), error
    return connector, rows, error


@pytest.mark.parametrize(("source", "fmt", "case"), corpus())
def test_hostile_case_never_raises_and_keeps_good_rows(source: str, fmt: str, case: Any, tmp_path: Path) -> None:
    connector, rows, error = run(source, fmt, case.content, tmp_path)
    for problem in connector.problems:
        assert "export." in problem.where or "http" in problem.where, problem
    if case.expect is Expect.FILE_ERROR:
        assert rows == []
        assert error is not None or connector.problems or connector.notices
        return
    assert error is None, error
    if case.expect is Expect.NO_ROWS:
        assert rows == []
        assert connector.notices
        return
    assert len(rows) >= case.expected_good_rows, [p.message for p in connector.problems]
    if case.expect is Expect.ROW_PROBLEMS:
        assert connector.problems, "each bad row is one problem naming the file and line"
    for row in rows:  # and what would reach Notion is inert
        properties = signal_to_write(row, Policy(), scrub=True).properties
        for name in ("Name", "Excerpt", "Customer"):
            value = properties[name] or ""
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (name, value[:40])
            assert not any(ord(c) < 32 and c != "\n" for c in value), name
        assert properties["Source URL"] is None or properties["Source URL"].startswith(("http://", "https://"))
    if case.expect is Expect.DUPLICATES:
        assert len({r.external_id for r in rows}) == len(rows)
        assert any("duplicate id" in p.message for p in connector.problems)


@pytest.mark.parametrize("source", list(SHAPES))
def test_five_thousand_rows_import_fast(source: str, tmp_path: Path) -> None:
    shape, base = base_from_sample(source)
    started = time.perf_counter()
    _, rows, error = run(source, shape.format, many_rows(shape, base, 5000), tmp_path)
    assert error is None
    assert len(rows) == 5000
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("case", list(PATH_CASES))
def test_a_path_that_is_not_a_regular_file_is_refused_at_once(case: str, tmp_path: Path) -> None:
    if case == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = PATH_CASES[case](tmp_path)
    started = time.perf_counter()
    with pytest.raises(SourceConfigError) as info:
        list(make("github", path).read_export(None))
    assert time.perf_counter() - started < 5
    reason = {"directory": "is a directory", "fifo": "FIFO", "device": "device", "dangling_symlink": "link"}
    assert reason.get(case, "permission") in str(info.value)
