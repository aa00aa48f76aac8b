"""`connectors/` is the lower layer: no module in it imports `service` (checked on the AST, so it stays true)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests import REPO_ROOT


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_connectors_import_nothing_from_service() -> None:
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(m for m in imported_modules(path) if m.split(".")[0] == "service")
        for path in sorted((REPO_ROOT / "connectors").rglob("*.py"))
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_the_http_toolkit_imports_no_connector() -> None:
    """`connectors/http/` serves every connector and the Notion session, so it knows none of them."""
    for path in sorted((REPO_ROOT / "connectors" / "http").rglob("*.py")):
        mods = imported_modules(path)
        assert all(m.startswith("connectors.http") for m in mods if m.startswith("connectors")), path
