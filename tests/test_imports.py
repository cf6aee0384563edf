"""Imports go one way: autograd knows nothing of minigen; inside minigen, the faces users touch
(cli, zoo, demo) import the models, the models import only the engine, their shared helpers and the
training loop, and nothing imports in a circle.  Read from the source with `ast`, without importing."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_MAY_IMPORT = ("autograd", "minigen.models", "minigen.kernels", "minigen.train")


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_nodes(tree):
    """Every node of the module, less the blocks under `if TYPE_CHECKING:` (never run)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                pending.extend(child.orelse)
            else:
                pending.append(child)


def imports_of(path):
    """The absolute names of the modules that `path` imports when it runs (relative imports resolved)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def first_party(names, prefix):
    return {n for n in names if n == prefix or n.startswith(prefix + ".")}


def test_the_engine_imports_nothing_from_minigen_or_the_benchmarks():
    for path in (ROOT / "autograd").rglob("*.py"):
        assert not first_party(imports_of(path), "minigen") | first_party(imports_of(path), "benchmarks"), path


def test_model_files_import_only_the_engine_their_helpers_and_the_training_loop():
    for path in (ROOT / "minigen" / "models").glob("*.py"):
        for name in first_party(imports_of(path), "minigen") | first_party(imports_of(path), "benchmarks"):
            assert name == "minigen" or name.startswith(MODEL_MAY_IMPORT), f"{path.name} imports {name}"


def test_minigen_never_imports_the_benchmarks():
    for path in (ROOT / "minigen").rglob("*.py"):
        assert not first_party(imports_of(path), "benchmarks"), path


def test_no_import_circles_inside_minigen():
    modules = {module_name(p): p for p in (ROOT / "minigen").rglob("*.py")}
    graph = {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}
    for name in graph:                                   # packages import their own modules: not a circle
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in graph[node]:
            assert state.get(nxt) != "open", "import circle: " + " -> ".join(trail + [node, nxt])
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for name in graph:
        if name not in state:
            visit(name, [])
