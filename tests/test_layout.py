"""The package's rooms as dialogqa/__init__.py describes them, checked on the import graph
(every import statement, including the ones inside functions)."""

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dialogqa"
# what each room may import of the project (besides itself)
GROUND = {"errors", "records", "jsonio", "visible", "progress", "lexicon", "paths"}  # plain helpers, import nothing of the project
ALLOWED = {
    **{name: set() for name in GROUND},
    "progress": {"visible"},
    "kg": GROUND,
    "model": GROUND,
    "dialogue": GROUND | {"kg", "model"},
    "datasets": GROUND | {"kg", "dialogue"},
    "train": GROUND | {"kg", "model", "dialogue", "datasets"},
    "tui": GROUND | {"kg", "model", "dialogue"},
    "commands": GROUND | {"kg", "model", "dialogue", "datasets", "train", "tui", ""},
    "__main__": {"commands"},
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    g = nx.DiGraph()
    for name, path in modules.items():
        g.add_node(name, path=path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from dialogqa import jsonio" imports the module dialogqa.jsonio
                submodules = [f"{node.module}.{a.name}" for a in node.names]
                targets = [t for t in submodules if t in modules] or [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            g.add_edges_from((name, t) for t in targets if t in modules and t != name)
    return g


def test_every_room_imports_only_the_rooms_below_it(graph):
    wrong = [(a, b) for a, b in graph.edges
             if _room(a) != _room(b) and _room(b) not in ALLOWED[_room(a)]]
    assert wrong == []


def test_no_module_imports_itself_round_a_circle(graph):
    assert list(nx.simple_cycles(graph)) == []


def test_the_ground_floor_imports_nothing_of_the_project(graph):
    for name in GROUND - {"progress"}:
        assert list(graph.successors(f"dialogqa.{name}")) == [], name


def test_every_room_says_what_it_is_for():
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in doc, f"{init}: the docstring should say what the room may import"


def test_the_core_prints_nothing():
    """kg/, dialogue/ and model/ report through return values and callbacks; only the
    commands (and the terminal helpers they pass in, dialogqa/progress.py) print."""
    found = []
    for room in ("kg", "dialogue", "model"):
        for path in (PACKAGE / room).rglob("*.py"):
            if path.name == "store_query_worker.py":  # a child process: stdout is its answer
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                    found.append(f"{path.name}:{node.lineno} print()")
                if isinstance(node, ast.Attribute) and node.attr in ("stderr", "stdout") \
                        and getattr(node.value, "id", None) == "sys":
                    found.append(f"{path.name}:{node.lineno} sys.{node.attr}")
                if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                        a.name.split(".")[0] == "tqdm" for a in node.names) or (
                        isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tqdm")):
                    found.append(f"{path.name}:{node.lineno} tqdm")
    assert found == []
