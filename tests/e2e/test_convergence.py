"""Process-level convergence: real `backlog sync` processes SIGKILLed at seeded points, and two syncs racing on one
sandbox served over HTTP. Slow (seconds, subprocesses): marked `slow`; CI runs them like every other test."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from service.notion import NotionGateway
from tests.e2e.support import (
    gh_export,
    key_counts,
    run,
    served_sandbox,
    settings_for,
    start,
    sync_env,
    sync_killed_after,
)
from tests.fakes.sandbox_helpers import no_sleep

pytestmark = pytest.mark.slow

ITEMS = 300
KILLS = 10


def test_sync_sigkilled_at_ten_seeded_points_ends_with_every_item_exactly_once(tmp_path: Path) -> None:
    keys = gh_export(tmp_path / "issues.json", ITEMS)  # newest first, one item every 12 h
    env = sync_env(tmp_path, tmp_path / "issues.json")
    assert run(env, "init", cwd=tmp_path).returncode == 0
    rng = random.Random(10)
    made = [sync_killed_after(env, tmp_path, rng.randint(1, 25)) for _ in range(KILLS)]
    assert sum(made) < ITEMS  # every one of the ten runs was killed before the end

    final = run(env, "sync", cwd=tmp_path)

    assert final.returncode == 0, final.stderr[-2000:]
    counts = key_counts(env)
    assert sorted(counts) == sorted(keys)  # nothing lost, even the oldest items behind the newest written ones
    assert max(counts.values()) == 1


def test_two_syncs_racing_on_one_served_sandbox_converge_and_keep_pm_edits_of_either_copy(tmp_path: Path) -> None:
    keys = gh_export(tmp_path / "issues.json", 120)
    with served_sandbox(tmp_path, tmp_path / "issues.json") as served:
        assert run(served.env, "init", cwd=tmp_path).returncode == 0
        envs = [{**served.env, "BACKLOG_LOCK_PATH": str(tmp_path / f"lock-{i}")} for i in (1, 2)]
        racing = [start(e, "sync", cwd=tmp_path) for e in envs]
        for process in racing:
            process.wait(timeout=120)
        assert [p.returncode for p in racing] == [0, 0]
        edits = pm_edits_on_both_copies(served.env)
        assert edits, "the two syncs raced without making one duplicate: nothing to heal"

        final = run(served.env, "sync", cwd=tmp_path)

        assert final.returncode == 0, final.stderr[-2000:]
        counts = key_counts(served.env)
        assert sorted(counts) == sorted(keys)
        assert max(counts.values()) == 1  # zero duplicate Source Keys
        with NotionGateway.from_settings(settings_for(served.env), sleep=no_sleep) as gateway:
            rows = gateway.find_by_source_keys(edits)
        for key in edits:
            assert (rows[key].values.get("Effort"), rows[key].values.get("Reach")) == ("L", "5"), key


def pm_edits_on_both_copies(env: dict[str, str]) -> list[str]:
    """For up to 10 duplicated keys: Reach on the oldest copy, Effort on the newer one. The keys edited."""
    with NotionGateway.from_settings(settings_for(env), sleep=no_sleep) as gateway:
        copies: dict[str, list[str]] = {}
        for row in gateway.iter_rows():  # created_time order: the oldest copy first
            copies.setdefault(str(row.source_key), []).append(row.page_id)
        doubled = [key for key, ids in copies.items() if len(ids) > 1][:10]
        for key in doubled:
            oldest, newer = copies[key][0], copies[key][-1]
            gateway.update_properties(oldest, {"Reach": "5"})
            gateway.update_properties(newer, {"Effort": "L"})
    return doubled
