"""The test suite mirrors the package tree: tests/connectors, tests/scoring, tests/service/<layer>."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
