"""Fixtures for the data tests: the repository's dataset_scripts/*.py (not a package), imported by name."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

DATASET_SCRIPTS = Path(__file__).resolve().parents[2] / "dataset_scripts"


def _load_dataset_script(name: str) -> ModuleType:
    """Import ``dataset_scripts/{name}.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"dataset_script_{name}", DATASET_SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_dataset_script() -> Callable[[str], ModuleType]:
    """``load_dataset_script("wikiweb2m")`` imports ``dataset_scripts/wikiweb2m.py``."""
    return _load_dataset_script
