"""The layout DESIGN.md draws holds in the code: read from the imports themselves (ast).

Packages are archviz's subpackages (core, trace, lab, dashboard and one app per demo);
top-level modules (settings, urls, asgi, conf) wire them together and are left out.
"""

import ast
from functools import cache
from pathlib import Path

ARCHVIZ = Path(__file__).resolve().parent.parent / "archviz"
STATIC = Path(__file__).resolve().parent.parent / "static"
MAX_LINES = 400  # STYLE.md: a module past about 400 lines asks to be split
BASE = {"core", "trace"}  # what every process uses
HOSTS = {"lab", "dashboard"}  # the supervisor and the page shell
# the one app built on another: a class is taught from the course (its steps and questions)
BUILT_ON = {"classroom": {"lessons"}}


def _packages() -> set[str]:
    return {p.name for p in ARCHVIZ.iterdir() if (p / "__init__.py").exists()}


def _demos() -> set[str]:
    return _packages() - BASE - HOSTS


def _imported_modules(path: Path) -> set[str]:
    """Every archviz module a file imports, at any depth (a function's lazy import too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("archviz.")}


@cache
def package_graph() -> dict[str, set[str]]:
    """package -> the other archviz packages its modules import."""
    graph: dict[str, set[str]] = {name: set() for name in _packages()}
    for package in graph:
        for path in (ARCHVIZ / package).rglob("*.py"):
            for module in _imported_modules(path):
                target = module.split(".")[1]
                if target in graph and target != package:
                    graph[package].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the packages along it, or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_package_imports_another_in_a_cycle() -> None:
    """Dependencies point one way: no package reaches itself through its imports."""
    assert _cycle(package_graph()) is None, " -> ".join(_cycle(package_graph()) or [])


def test_core_and_trace_import_no_app() -> None:
    """core and trace are what every process uses; they know no app (apps register)."""
    graph = package_graph()
    assert graph["trace"] == set(), graph["trace"]
    assert graph["core"] <= {"trace"}, graph["core"]


def test_lab_imports_no_demo() -> None:
    """The supervisor starts children by the kinds the apps register, not by importing them."""
    assert package_graph()["lab"] <= BASE, package_graph()["lab"]


def test_no_demo_imports_another_demo_or_a_host() -> None:
    """A demo is self-contained: it builds on core and trace only (and what BUILT_ON says)."""
    graph = package_graph()
    allowed = {demo: BASE | BUILT_ON.get(demo, set()) for demo in _demos()}
    leaks = {demo: sorted(graph[demo] - allowed[demo]) for demo in _demos()}
    leaks = {demo: leak for demo, leak in leaks.items() if leak}
    assert leaks == {}


def test_nothing_imports_the_dashboard() -> None:
    """The page shell imports the demos' views; no package imports it."""
    graph = package_graph()
    assert [p for p, targets in graph.items() if "dashboard" in targets] == []


def test_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a two-package loop is reported."""
    assert _cycle({"a": {"b"}, "b": {"a"}, "c": set()}) in (["a", "b", "a"], ["b", "a", "b"])
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_is_over_400_lines() -> None:
    """No Python or JS module of ours is over 400 lines (migrations and vendored code aside)."""
    sources = [*ARCHVIZ.rglob("*.py"), *ARCHVIZ.rglob("*.js"), *STATIC.rglob("*.js")]
    long = {
        str(path.relative_to(ARCHVIZ.parent)): lines
        for path in sources
        if "migrations" not in path.parts and "vendor" not in path.parts
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
