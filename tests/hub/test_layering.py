"""Dependencies point one way: modeling and processing never import hf_graph4mm.hub; hub hooks into them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hf_graph4mm
from hf_graph4mm.hub.save_hooks import (
    export_model_code,
    export_processor_code,
    install_save_hooks,
    push_model,
)
from hf_graph4mm.modeling.sharing import MODEL_PUSH_HOOKS, MODEL_SAVE_HOOKS
from hf_graph4mm.processing.processor import PROCESSOR_SAVE_HOOKS

PACKAGE_ROOT = Path(hf_graph4mm.__file__).parent
FORBIDDEN = "hf_graph4mm.hub"


def module_name_of(path: Path) -> tuple[str, bool]:
    """(dotted module name, is a package __init__) of a file under the package."""
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute name) of everything ``source`` imports, ``from x import y`` giving x and x.y."""
    found = []
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                absolute = ".".join(base + ([node.module] if node.module else []))
            else:
                absolute = node.module or ""
            found.append((node.lineno, absolute))
            found += [(node.lineno, f"{absolute}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and FORBIDDEN in node.value:
            found.append((node.lineno, node.value))  # importlib.import_module("hf_graph4mm.hub...")
    return found


def hub_imports(source: str, module: str, is_package: bool) -> list[str]:
    return [
        f"line {line}: {name}"
        for line, name in imported_modules(source, module, is_package)
        if name == FORBIDDEN or name.startswith(FORBIDDEN + ".")
    ]


@pytest.mark.parametrize(
    ("source", "module", "is_package"),
    [
        ("from ..hub import remote_code", "hf_graph4mm.modeling.sharing", False),
        ("def save():\n    from .. import hub", "hf_graph4mm.processing.processor", False),
        ("from ...hub.remote_code import export_code", "hf_graph4mm.modeling.gsit.modeling_gsit", False),
        ("from ..hub import x", "hf_graph4mm.processing", True),
        ("import hf_graph4mm.hub.sharing", "hf_graph4mm.modeling.sharing", False),
        ("from hf_graph4mm import hub", "hf_graph4mm.modeling.sharing", False),
        (
            "import importlib\nimportlib.import_module('hf_graph4mm.hub')",
            "hf_graph4mm.modeling.sharing",
            False,
        ),
    ],
)
def test_the_checker_sees_every_spelling(source, module, is_package):
    assert hub_imports(source, module, is_package)


def test_the_checker_passes_sibling_imports():
    assert not hub_imports(
        "from ..kernels import x\nfrom .hub_like import y", "hf_graph4mm.modeling.sharing", False
    )


def test_modeling_and_processing_never_import_the_hub():
    files = sorted((PACKAGE_ROOT / "modeling").rglob("*.py")) + sorted(
        (PACKAGE_ROOT / "processing").rglob("*.py")
    )
    assert len(files) > 10  # the walk found the packages
    offenders = {}
    for path in files:
        module, is_package = module_name_of(path)
        found = hub_imports(path.read_text(encoding="utf-8"), module, is_package)
        if found:
            offenders[str(path.relative_to(PACKAGE_ROOT))] = found
    assert not offenders, f"modeling/processing must not import {FORBIDDEN}: {offenders}"


def test_importing_the_package_installs_each_hook_once():
    install_save_hooks()  # again: idempotent
    assert MODEL_SAVE_HOOKS.count(export_model_code) == 1
    assert PROCESSOR_SAVE_HOOKS.count(export_processor_code) == 1
    assert MODEL_PUSH_HOOKS.count(push_model) == 1
