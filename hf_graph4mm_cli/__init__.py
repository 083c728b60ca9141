"""The ``hf-graph4mm`` console command's entry point (``hf_graph4mm_cli:main``).

Importing ``hf_graph4mm`` registers its models with transformers, which imports torch and transformers
(10 s or more on a busy machine). A help request needs neither: the package is then stood in for by an
empty package object with the same ``__path__``, so ``hf_graph4mm.cli`` and the argument modules load on
their own (they import only the standard library at module level) and print the help. Every other
command imports the real package first.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

HELP_FLAGS = ("-h", "--help")


def _asks_for_help(argv: list[str]) -> bool:
    return not argv or argv[0] in HELP_FLAGS or any(flag in argv[1:] for flag in HELP_FLAGS)


def _stand_in_package() -> bool:
    """Put a bare ``hf_graph4mm`` package in ``sys.modules`` (True) unless the real one is loaded."""
    if "hf_graph4mm" in sys.modules:
        return False
    spec = importlib.util.find_spec("hf_graph4mm")
    if spec is None or not spec.submodule_search_locations:
        return False
    package = types.ModuleType("hf_graph4mm")
    package.__path__ = list(spec.submodule_search_locations)
    package.__package__ = "hf_graph4mm"
    sys.modules["hf_graph4mm"] = package
    return True


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if _asks_for_help(argv) and _stand_in_package():
        from hf_graph4mm.cli import light_help

        code = light_help(argv)
        if code is not None:
            return code
        del sys.modules["hf_graph4mm"]  # the command's own help: load the real package
        importlib.import_module("hf_graph4mm")
    from hf_graph4mm.cli import main as run

    return run(argv)
