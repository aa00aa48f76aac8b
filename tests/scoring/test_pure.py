"""scoring/ stays pure and the seed examples stay test data: checked on the AST of every module, so it stays true."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCORING = sorted((ROOT / "scoring").rglob("*.py"))
SHIPPED = sorted(path for package in ("scoring", "service") for path in (ROOT / package).rglob("*.py"))
# What pure scoring may use: data classes, dates as values, maths, text; pydantic for the policy and the rows;
# numpy and rapidfuzz for the duplicate matcher's vector and string maths (computation only, no I/O).
ALLOWED = {
    "__future__",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "hashlib",  # a stable hash of the Source Key breaks Priority ties (computation only)
    "math",
    "re",
    "typing",
    "pydantic",
    "numpy",
    "rapidfuzz",
}
CLOCK_CALLS = {"now", "today", "utcnow", "time", "monotonic", "perf_counter"}


def imported(path: Path) -> set[str]:
    """Top-level module names a file imports (relative imports count as its own package)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0] if node.module and not node.level else path.parent.name)
    return names


def test_there_are_modules_to_check() -> None:
    assert ROOT / "scoring" / "planner.py" in SCORING
    assert ROOT / "service" / "pipelines" / "sprint_page.py" in SHIPPED


@pytest.mark.parametrize("path", SCORING, ids=lambda p: p.name)
def test_scoring_imports_only_pure_modules(path: Path) -> None:
    outside = imported(path) - ALLOWED - {"scoring"}
    assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}: scoring/ must stay pure"


@pytest.mark.parametrize("path", SCORING, ids=lambda p: p.name)
def test_scoring_reads_no_clock_and_no_files(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            assert name not in CLOCK_CALLS | {"open", "print", "input"}, f"{path.name}:{node.lineno} calls {name}()"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_code_does_not_use_the_test_fixtures(path: Path) -> None:
    assert "tests" not in imported(path), f"{path.relative_to(ROOT)} imports tests/: fixtures do not ship"
    assert "seed_example" not in path.read_text(encoding="utf-8"), f"{path.relative_to(ROOT)} names the seed examples"
