"""Fixtures of the Notion layer's tests: a sandbox behind a fault-injecting transport, and recorded sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.faults import FaultyNotion
from tests.service.notion.support import T0, TOKEN


@pytest.fixture
def notion(tmp_path: Path) -> Iterator[FaultyNotion]:
    """A fresh sandbox (token TOKEN, clock at T0) behind a `FaultyTransport` with no faults scripted yet."""
    world = FaultyNotion.open(tmp_path / "notion.sqlite3", token=TOKEN, start=T0)
    yield world
    world.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []
