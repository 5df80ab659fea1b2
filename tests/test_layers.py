"""Dependencies point down (the design card): the domain at the bottom, then activities, then
workflows, then the front doors and tools on top; nothing shipped imports the tests, and no two
packages import each other, directly or round a loop (the codec is built by infra, from keys infra
passes in; it imports nothing of infra). Read from the source's import statements, so a new upward
import fails here before review."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What each part may import from the project (besides itself). Infrastructure is shared below the
# doors; the domain knows nothing of it.
MAY_IMPORT = {
    "domain": set(),
    "infra": {"domain", "codec"},
    "codec": set(),
    # The workflow issues the funding agreement and the payment advices through an activity.
    "activities": {"domain", "infra", "observability", "workflows.names", "documents"},
    "workflows": {"domain", "activities"},
    "observability": {"domain", "infra"},
    "frontdoor": {"domain", "infra", "workflows.names"},
    # Geometry only (the bar charts the console and the documents draw).
    "charts": set(),
    # What the programme hands people, made from the domain's records; the front doors issue them.
    "documents": {"domain", "infra", "charts"},
    # The console acts through the front door; its auditor's page uses the auditor's tools.
    "console": {"domain", "infra", "observability", "frontdoor", "workflows.names", "audit", "documents", "charts"},
}
SHIPPED = [
    "domain",
    "infra",
    "codec",
    "activities",
    "workflows",
    "observability",
    "frontdoor",
    "charts",
    "documents",
    "console",
    "cli",
    "gateway",
    "audit",
    "simulation",
    "chaos",
    "demo",
    "bench",
    "scenarios",
    "worker.py",
    "starter.py",
]


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _files(part: str) -> list[Path]:
    p = ROOT / part
    return [p] if p.is_file() else [f for f in p.rglob("*.py") if "migrations" not in f.parts]


def _allowed(module: str, part: str) -> bool:
    top = module.split(".")[0]
    if top == part or top not in {s.removesuffix(".py") for s in SHIPPED} | {"tests"}:
        return True  # itself, the standard library, a third-party package
    return any(module == a or module.startswith(a + ".") for a in MAY_IMPORT[part])


def test_each_layer_imports_only_what_is_below_it():
    wrong = [
        f"{f.relative_to(ROOT)} imports {m}"
        for part in MAY_IMPORT
        for f in _files(part)
        for m in sorted(_imports(f))
        if not _allowed(m, part)
    ]
    assert not wrong, wrong


def test_nothing_shipped_imports_the_tests():
    wrong = [
        f"{f.relative_to(ROOT)} imports {m}"
        for part in SHIPPED
        for f in _files(part)
        for m in sorted(_imports(f))
        if m == "tests" or m.startswith("tests.")
    ]
    assert not wrong, wrong


# Modules the layers above may import on their own (names, no code of their package): a node of
# their own in the package graph, like a package.
LEAVES = {a for allowed in MAY_IMPORT.values() for a in allowed if "." in a}


def _node(module: str) -> str:
    return next((leaf for leaf in LEAVES if module == leaf or module.startswith(leaf + ".")), module.split(".")[0])


def _package_graph() -> dict[str, set[str]]:
    """Which shipped package imports which others (any import, at the top of a module or inside
    a function: both run)."""
    names = {s.removesuffix(".py") for s in SHIPPED} | LEAVES
    graph: dict[str, set[str]] = {}
    for part in SHIPPED:
        for f in _files(part):
            here = _node(".".join(f.relative_to(ROOT).with_suffix("").parts))
            graph.setdefault(here, set()).update(n for m in _imports(f) if (n := _node(m)) in names and n != here)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each loop of imports once, as the packages along it (first package repeated at the end)."""
    found: dict[frozenset[str], list[str]] = {}

    def walk(path: list[str]) -> None:
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == path[0]:
                found.setdefault(frozenset(path), [*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each loop from its smallest package only
                walk([*path, nxt])

    for start in sorted(graph):
        walk([start])
    return list(found.values())


def test_no_two_packages_import_each_other():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    loops = [" -> ".join(c) for c in _cycles(_package_graph())]
    assert not loops, loops
