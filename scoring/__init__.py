"""Pure scoring: RICE/ICE, bug triage, strategy boosts, evidence suggestions, and the sprint planner.

Nothing here does I/O, reads a clock, or knows about Notion: inputs are plain models, outputs are values.
"""

from scoring.models import Candidate
from scoring.planner import SprintPlan, plan_sprint
from scoring.policy import Policy
from scoring.score import ScoreResult, score_backlog
from scoring.summary import render_markdown

__all__ = ["Candidate", "Policy", "ScoreResult", "SprintPlan", "plan_sprint", "render_markdown", "score_backlog"]
