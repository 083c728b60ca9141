"""The package's shape: no import cycle, and no attention-backend name passed below the models."""

from __future__ import annotations

import ast
from pathlib import Path

import hf_graph4mm

PACKAGE_DIR = Path(hf_graph4mm.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path) -> set[str]:
    """Our modules that ``path`` imports at module level (function-level, lazy imports excluded)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found.update(c for c in candidates if c.startswith("hf_graph4mm") and module_exists(c))
    return found


def module_exists(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (PACKAGE_DIR / relative).with_suffix(".py").is_file() or (
        PACKAGE_DIR / relative / "__init__.py"
    ).is_file()


def import_graph() -> dict[str, set[str]]:
    graph = {module_name(path): top_level_imports(path) for path in PACKAGE_DIR.rglob("*.py")}
    # importing a.b.c runs a/__init__ and a/b/__init__ first, but that is not an edge of c's own
    return {name: {t for t in targets if t != name} for name, targets in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among modules (package ``__init__`` re-exports of submodules excluded), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target.startswith(node + "."):  # a package importing its own submodule is not a cycle
                continue
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "hf_graph4mm.kernels.registry" in graph and graph["hf_graph4mm.kernels.hop_diffused"]
    assert find_cycle(graph) is None


def test_kernels_know_nothing_of_models_processing_or_hub():
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith("hf_graph4mm.kernels"):
            assert all(t.startswith("hf_graph4mm.kernels") for t in targets), (name, targets)


def test_no_attention_backend_name_in_signatures_below_the_models():
    """Layers read ``config._attn_implementation``; only the model classes' own hooks take a name."""
    allowed = {"get_correct_attn_implementation", "set_attn_implementation", "from_pretrained"}
    offenders = []
    for path in (PACKAGE_DIR / "modeling").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name not in allowed:
                names = [a.arg for a in node.args.args + node.args.kwonlyargs]
                if {"attn_implementation", "implementation"} & set(names):
                    offenders.append(f"{path.name}:{node.name}")
    assert offenders == []


def test_a_forward_reaches_each_attention_kernel_through_few_files():
    """Measured, not declared: the files of ours on the stack when each kernel is entered (and those the
    kernel itself calls into) stay few, so a reader follows a forward in a handful of files."""
    import sys

    sys.path.insert(0, str(PACKAGE_DIR.parent))
    from benchmarks.call_paths import measured_paths

    paths = {path.kernel: path for path in measured_paths()}
    assert len(paths) == 6  # hop-diffused, key-masked and interlaced; eager and sdpa each
    for path in paths.values():
        assert path.frames[0][1].endswith(".forward") and "modeling_" in path.frames[0][0], path
        assert len(path.files) <= 3 and path.hops <= 6, path
        if not path.kernel.startswith("interlaced"):  # Graph4MM: forward to the last line of math
            assert len(path.all_files) <= 5, path.all_files
