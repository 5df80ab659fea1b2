"""Dependencies point down (the design card): the domain at the bottom, then activities, then
workflows, then the front doors and tools on top; nothing shipped imports the tests. Read from the
source's import statements, so a new upward import fails here before review."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What each part may import from the project (besides itself). Infrastructure is shared below the
# doors; the domain knows nothing of it.
MAY_IMPORT = {
    "domain": set(),
    "infra": {"domain", "codec"},
    "codec": {"infra", "domain"},
    "activities": {"domain", "infra", "observability", "workflows.names"},
    "workflows": {"domain", "activities"},
    "observability": {"domain", "infra"},
    "frontdoor": {"domain", "infra", "workflows.names"},
    # The console acts through the front door; its auditor's page uses the auditor's tools.
    "console": {"domain", "infra", "observability", "frontdoor", "workflows.names", "audit"},
}
SHIPPED = [
    "domain",
    "infra",
    "codec",
    "activities",
    "workflows",
    "observability",
    "frontdoor",
    "console",
    "cli",
    "gateway",
    "audit",
    "simulation",
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
