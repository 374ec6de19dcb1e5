"""The package's layout follows the data flow: no import cycle, no import against the flow.

data <- features <- {heuristics, cluster} <- evaluate <- interpret <- report <- run <- cli, with
the base modules (errors, registry, settings, checks) below everything.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "seglab"

#: Layer of each top-level part of seglab; a module may import only lower layers or its own part.
LAYERS = {
    "errors": 0, "registry": 0, "settings": 0, "checks": 0, "progress": 0,
    "data": 1,
    "features": 2,
    "heuristics": 3, "cluster": 3,
    "evaluate": 4,
    "interpret": 5,
    "report": 6,
    "run": 7,
    "cli": 8,
    "__init__": 9,
}  # fmt: skip
MAX_LINES = 650


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, modules: dict[str, Path], name: str | None = None) -> set[str]:
    """The seglab modules `path` imports anywhere (functions included), by module name."""
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target.startswith("seglab") and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) for name, path in modules.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph` (a list of modules, first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _against(graph: dict[str, set[str]]) -> list[str]:
    """Imports of a part from another part at its own layer or above."""
    wrong = []
    for module, targets in graph.items():
        for target in targets:
            mine, theirs = _part(module), _part(target)
            base = LAYERS[mine] == LAYERS[theirs] == 0  # base modules build on each other
            if target == "seglab" or (
                mine != theirs and LAYERS[theirs] >= LAYERS[mine] and not base
            ):
                wrong.append(f"{module} ({mine}) imports {target} ({theirs})")
    return sorted(wrong)


def test_no_import_cycle_anywhere_in_seglab():
    assert _cycle(_graph()) is None


def test_no_import_runs_against_the_data_flow():
    assert _against(_graph()) == []


def test_the_walker_sees_late_relative_and_upward_imports(tmp_path):
    # Without these the two tests above could pass on a broken layout.
    modules = _modules()
    fake = tmp_path / "reading.py"
    fake.write_text(
        "from . import engine\n\ndef late():\n    from seglab.run.pipeline import open_run\n"
    )
    found = _imports(fake, modules, name="seglab.data.reading")
    assert found == {"seglab.data", "seglab.data.engine", "seglab.run.pipeline"}
    assert _against({"seglab.data.reading": found}) == [
        "seglab.data.reading (data) imports seglab.run.pipeline (run)"
    ]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_every_package_says_what_it_owns_and_ships():
    packages = sorted(
        _module_name(p / "__init__.py") for p in PACKAGE.iterdir() if (p / "__init__.py").exists()
    )
    for package in packages:
        doc = ast.get_docstring(
            ast.parse((ROOT / package.replace(".", "/") / "__init__.py").read_text())
        )
        assert doc and len(doc.splitlines()[0]) > 20, f"{package} has no docstring"
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert sorted(listed) == sorted(["seglab", *packages, "seglab.notebooks"])


def test_no_module_is_much_over_six_hundred_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long
