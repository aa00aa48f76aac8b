"""The import rules of the layout (../shared/LAYOUT.md), checked on the source so they stay true.

Every module of service/, connectors/ and scoring/ is parsed (never imported); each `import`, `from ... import`
(relative ones resolved, those under `if TYPE_CHECKING:` included) and `importlib.import_module("...")` with a
literal name is an edge from the module to what it names. The rules:
- connectors/ and scoring/ import nothing from service/; scoring/ does no I/O and reads no clock;
- only service/notion/ imports notion_client;
- inside service/: app -> pipelines -> notion (never back up);
- service/sandbox/ is reached only from service/notion/ (the client's transport) and service/app/ (the
  `backlog sandbox` command);
- no import cycle between packages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests import REPO_ROOT

ROOTS = ("service", "connectors", "scoring")
# Modules whose import makes code do I/O or read a clock; scoring/ is pure.
IO_MODULES = {"os", "pathlib", "io", "httpx", "socket", "sqlite3", "requests", "time", "subprocess", "shutil"}
CLOCK_CALLS = {"now", "utcnow", "today", "monotonic", "perf_counter"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # what it imports, dotted (for `from a import b`: a.b, which may be a module or a name in a)
    where: str  # file:line, for the failure message

    def names(self, prefix: str) -> bool:
        return self.target == prefix or self.target.startswith(prefix + ".")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path) -> str:
    """The package a module belongs to: its folder (service/app/cli.py -> service.app)."""
    return ".".join(path.relative_to(REPO_ROOT).parent.parts)


def source_files() -> list[Path]:
    return sorted(p for root in ROOTS for p in (REPO_ROOT / root).rglob("*.py"))


def _resolve(node: ast.ImportFrom, path: Path) -> str:
    if not node.level:
        return node.module or ""
    base = package_of(path).split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = module_name(path)
    rel = path.relative_to(REPO_ROOT)
    for node in ast.walk(tree):
        where = f"{rel}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            yield from (Import(module, alias.name, where) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, path)
            yield Import(module, base, where)
            yield from (Import(module, f"{base}.{alias.name}", where) for alias in node.names)
        elif _is_import_module(node):
            assert isinstance(node, ast.Call)
            literal = node.args[0]
            assert isinstance(literal, ast.Constant)
            yield Import(module, str(literal.value), where)


def _is_import_module(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    first = node.args[0]
    return name == "import_module" and isinstance(first, ast.Constant) and isinstance(first.value, str)


ALL = {path: list(imports_of(path)) for path in source_files()}


def violations(files: str, forbidden: tuple[str, ...], *, allowed_in: tuple[str, ...] = ()) -> list[str]:
    """Imports of `forbidden` from modules under `files` (a dotted prefix), except in modules under `allowed_in`."""
    found = []
    for imports in ALL.values():
        for imp in imports:
            inside = imp.module == files or imp.module.startswith(files + ".")
            exempt = any(imp.module == a or imp.module.startswith(a + ".") for a in allowed_in)
            if inside and not exempt and any(imp.names(f) for f in forbidden):
                found.append(f"{imp.where}: {imp.module} imports {imp.target}")
    return sorted(set(found))


def test_the_scan_sees_every_module_and_its_imports() -> None:
    """The rules below pass because the imports are right, not because the scanner saw nothing."""
    modules = {module_name(p) for p in ALL}
    assert {"service.app.cli", "service.pipelines.sync", "service.notion.gateway", "connectors.base"} <= modules
    assert {"scoring.score", "service.sandbox"} <= modules
    targets = {imp.target for imp in ALL[REPO_ROOT / "service/pipelines/sync.py"]}
    assert {"service.notion.NotionGateway", "connectors.registry", "time"} <= targets
    assert violations("service.pipelines", ("service.notion",))  # the positive case the rules rely on
    assert violations("service.notion", ("service.sandbox",))  # import_module("service.sandbox") is seen


def test_connectors_import_nothing_from_service() -> None:
    assert violations("connectors", ("service",)) == []


def test_scoring_imports_nothing_from_service_or_connectors() -> None:
    assert violations("scoring", ("service", "connectors")) == []


def test_scoring_does_no_io_and_reads_no_clock() -> None:
    assert violations("scoring", tuple(sorted(IO_MODULES))) == []
    clocks = []
    for path in (REPO_ROOT / "scoring").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in CLOCK_CALLS or (name == "open" and isinstance(func, ast.Name)):
                clocks.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {name}()")
    assert clocks == [], "scoring/ is pure: pass the date, the time or the text in"


def test_only_service_notion_imports_notion_client() -> None:
    for root in ROOTS:
        assert violations(root, ("notion_client",), allowed_in=("service.notion",)) == []


def test_service_layers_point_down_app_pipelines_notion() -> None:
    assert violations("service.pipelines", ("service.app",)) == []
    assert violations("service.notion", ("service.app", "service.pipelines")) == []
    for module in ("service.settings", "service.logging", "service.policy_file"):
        assert violations(module, ("service.app", "service.pipelines", "service.notion")) == [], module


def test_the_sandbox_is_reached_only_through_notion_and_the_sandbox_command() -> None:
    for root in ROOTS:
        assert (
            violations(root, ("service.sandbox",), allowed_in=("service.sandbox", "service.notion", "service.app"))
            == []
        )
    assert violations("service.sandbox", ("service.notion", "service.pipelines", "service.app")) == []


def package_graph(depth: int | None) -> dict[str, set[str]]:
    """Package -> the packages it imports (first `depth` parts of the dotted names; None: the full folder)."""
    packages = {package_of(p) for p in ALL}
    module_to_package = {module_name(p): package_of(p) for p in ALL}

    def cut(name: str) -> str:
        return ".".join(name.split(".")[:depth]) if depth else name

    graph: dict[str, set[str]] = {cut(p): set() for p in packages}
    for path, imports in ALL.items():
        source = cut(package_of(path))
        for imp in imports:
            target = module_to_package.get(imp.target) or module_to_package.get(imp.target.rpartition(".")[0])
            if target is not None and cut(target) != source:
                graph[source].add(cut(target))
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle as a path (a -> b -> a), or []."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_no_import_cycle_between_packages() -> None:
    graph = package_graph(None)
    assert {"service.app", "service.pipelines", "service.notion", "connectors", "scoring"} <= set(graph)
    assert find_cycle(graph) == []


def test_no_import_cycle_between_top_level_packages() -> None:
    assert find_cycle(package_graph(1)) == []


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
