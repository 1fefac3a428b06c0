"""The layering of docs/architecture.md, checked: every import inside ldnn (at the top of a
module or inside a function) goes to the same floor or a lower one, the imports form no
cycle, and the files stay small (a size budget in the spirit of tinygrad's line count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "ldnn"

#: The floors, lowest first: a room (a module or a subpackage of ldnn) may import rooms of
#: its own floor and of the floors below, never above. docs/architecture.md explains them.
FLOORS = {
    "foundation": ("_version", "errors", "base", "io"),
    "data": ("data",),
    "core math": ("core",),
    "training": ("training",),
    "model": ("model",),
    "runs": ("runs",),
    "uses": ("sklearn", "onnx", "tune", "experiments", "course", "serve", "playground"),
    "command line": ("cli",),
}
FLOOR_OF = {room: k for k, rooms in enumerate(FLOORS.values()) for room in rooms}
FLOOR_NAMES = list(FLOORS)

#: The notes' math: these modules of core/ together stay within this many lines.
CORE = (
    "activations",
    "losses",
    "initializers",
    "regularization",
    "workspace",
    "propagation",
    "batchnorm",
    "optimizers",
    "schedules",
    "parameters",
    "flat",
)
#: 1,700 for the notes' week-4 network; 400 more for what the course's next part adds
#: (batch normalisation, Nesterov and AdamW, the schedules); 20 for issue 25's uniform
#: initialisation of batch-norm layers and the reason for it, next to the initialisers;
#: 25 for issue 27's reduction of batch norm's statistics across ranks; 60 for issue 25's
#: learned embedding of a table's text columns (E1's name, shape, draw and gradient; its
#: math is in categorical.py, outside the budget, beside the one-hot gather); 45 for
#: issue 26's L1 term (its cost, its gradient (l1 / m) sign(W), the setting and its
#: check, the gradient check's argument).
CORE_BUDGET = 2_250
FILE_BUDGET = 500


def modules() -> dict[str, Path]:
    """{"ldnn.data.split": path, ...} for every source file ("ldnn.data" for __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The ldnn modules that module ``name`` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "ldnn"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "ldnn":
                continue
            # ``from . import train`` names a submodule; ``from .x import y`` a name of x.
            submodules = {f"{target}.{a.name}" for a in node.names} & known
            found |= submodules or {target}
    return {m for m in found if m in known} - {name}


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


GRAPH = {name: imports(name, path, set(modules())) for name, path in modules().items()}


def test_every_room_has_a_floor():
    rooms = {room(m) for m in GRAPH} - {"", "__main__"}
    assert rooms <= set(FLOOR_OF), f"rooms missing from FLOORS: {sorted(rooms - set(FLOOR_OF))}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if room(m)))
def test_no_import_runs_upward(module):
    floor = FLOOR_OF[room(module)]
    upward = [
        f"{target} ({FLOOR_NAMES[FLOOR_OF[room(target)]]})"
        for target in sorted(GRAPH[module])
        if FLOOR_OF[room(target)] > floor
    ]
    assert not upward, f"{module} ({FLOOR_NAMES[floor]}) imports from above: {upward}"


def test_the_imports_form_no_cycle():
    # Depth-first search; a module found again on the current path closes a cycle.
    state, path, cycles = {}, [], []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_a_chain_of_imports_climbs_few_rooms():
    # The longest chain of imports between rooms (top-level modules and folders): as many
    # rooms as there are floors (it was 17 when src/ldnn was one flat folder).
    rooms = {room(m): set() for m in GRAPH if room(m) not in ("", "__main__")}
    for module, targets in GRAPH.items():
        if room(module) in rooms:
            rooms[room(module)] |= {room(t) for t in targets if room(t) not in ("", room(module))}

    def depth(name, seen=()):
        return 1 + max((depth(t, (*seen, name)) for t in rooms[name] if t not in seen), default=0)

    assert max(depth(name) for name in rooms) <= len(FLOORS)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    source = "from ..runs import config\n\ndef f():\n    from ..data.split import split_indices\n"
    (tmp_path / "m.py").write_text(source)
    known = {"ldnn.runs", "ldnn.runs.config", "ldnn.data", "ldnn.data.split", "ldnn.cli.m"}
    found = imports("ldnn.cli.m", tmp_path / "m.py", known)
    assert found == {"ldnn.runs.config", "ldnn.data.split"}


def test_files_stay_small():
    lines = {m: len(p.read_text().splitlines()) for m, p in modules().items()}
    big = {m: n for m, n in lines.items() if n > FILE_BUDGET}
    assert not big, f"files over {FILE_BUDGET} lines (split them by job): {big}"
    core = sum(lines[f"ldnn.core.{m}"] for m in CORE)
    assert core <= CORE_BUDGET, f"the core math has grown to {core} lines (budget {CORE_BUDGET})"


def test_every_exception_is_defined_in_errors():
    defined = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                getattr(b, "id", "").endswith(("Error", "Warning")) for b in node.bases
            ):
                defined.append(f"{module}.{node.name}")
    assert all(d.startswith("ldnn.errors.") for d in defined), defined


def test_the_docs_name_every_room():
    root = SRC.parent
    layout = (root / "README.md").read_text().split("## Layout", 1)[1]
    architecture = (root / "docs" / "architecture.md").read_text()
    for rooms in FLOORS.values():
        for name in rooms:
            if name == "_version":
                continue
            shown = f"{name}/" if (PACKAGE / name).is_dir() else f"{name}.py"
            assert shown in layout, f"README's layout does not show {shown}"
            assert name in architecture, f"docs/architecture.md does not name {name}"
