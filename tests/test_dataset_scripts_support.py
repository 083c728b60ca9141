"""Shared helper for the tests of dataset_scripts/*.py (no tests here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load_dataset_script(name: str) -> ModuleType:
    """Import ``dataset_scripts/{name}.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(
        f"dataset_script_{name}", REPO / "dataset_scripts" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
