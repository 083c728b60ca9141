"""The sample writers the data packages still offer by name, loaded from :mod:`hf_graph4mm.testing` on first use.

They moved to ``hf_graph4mm.testing.samples``, which imports these packages (it writes their release
formats), so importing it while they load would be circular.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def testing_exports(package: str, module: str, names: tuple[str, ...]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that serves ``names`` from ``hf_graph4mm.testing.{module}``."""

    def __getattr__(name: str) -> object:
        if name in names:
            return getattr(importlib.import_module(f"hf_graph4mm.testing.{module}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
