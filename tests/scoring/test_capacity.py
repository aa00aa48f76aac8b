"""Capacity math on its own: the sprint's dates and when the page compares with the seed's estimate."""

from __future__ import annotations

from datetime import date

import pytest

from scoring.capacity import capacity_note, capacity_steps, sprint_end
from scoring.policy import Capacity


@pytest.mark.parametrize(("weeks", "end"), [(2, date(2026, 1, 25)), (1, date(2026, 1, 18)), (3, date(2026, 2, 1))])
def test_a_sprint_ends_the_day_before_its_whole_weeks_are_up(weeks: int, end: date) -> None:
    assert sprint_end(date(2026, 1, 12), Capacity(sprint_weeks=weeks)) == end


def test_the_plan_limit_is_the_plan_share_of_feature_capacity() -> None:
    steps, feature, limit = capacity_steps(Capacity(max_plan_share=0.5))
    assert limit == pytest.approx(feature / 2)
    assert steps[-1].explanation == "50 % of 15.2: never plan more"
    assert steps[-2].explanation == "24 − 1.6 − 4.8 − 2.4 − 0"  # feature capacity shows every deduction


def test_the_seed_comparison_is_made_only_for_the_seed_team() -> None:
    _, feature, limit = capacity_steps(Capacity())
    seed_note = capacity_note(Capacity(), feature, limit)
    assert "The seed estimates about 12–14 person-weeks" in seed_note
    assert "The 80 % plan limit, 12.2 pw, is inside the seed's range." in seed_note
    # Days off do not make it another team: the note is still given.
    _, feature_off, limit_off = capacity_steps(Capacity(days_off=10))
    assert capacity_note(Capacity(days_off=10), feature_off, limit_off).startswith("Matches the seed's estimate")

    other = Capacity(engineers={"Backend": 2})
    _, feature_other, limit_other = capacity_steps(other)
    assert capacity_note(other, feature_other, limit_other) == ""
