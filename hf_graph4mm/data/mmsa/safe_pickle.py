"""Load pickles that should hold only data (numpy arrays, plain containers, scalars).

A pickle can name any importable callable and have it called while loading, so an
untrusted file can run ``os.system`` before any check of its content. The unpickler
here resolves only an allow-list of globals (numpy's array/dtype/scalar rebuilders and
a few builtin containers); any other global stops the load *before* it is imported
or called, with an error naming the file and the refused global.
"""

from __future__ import annotations

import _compat_pickle
import importlib
import os
import pickle
from typing import Any, BinaryIO

# (module, name) pairs a numpy/plain-data pickle needs. numpy 2 moved ``numpy.core`` to
# ``numpy._core``; pickles written by either version are accepted.
_NUMPY_CORE_GLOBALS = {
    ("multiarray", "_reconstruct"),  # ndarray.__reduce__ (all protocols)
    ("multiarray", "scalar"),  # numpy scalars such as np.float32(0.5)
    ("numeric", "_frombuffer"),  # ndarray pickled with protocol 5 out-of-band buffers
}
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "bytearray"),
    ("builtins", "slice"),
    # Protocol-2 pickles written by Python 3 encode bytes (e.g. array buffers) as
    # ``_codecs.encode(latin1_str, "latin1")``; it only converts text to bytes.
    ("_codecs", "encode"),
} | {
    (f"{package}.{module}", name)
    for package in ("numpy.core", "numpy._core")
    for module, name in _NUMPY_CORE_GLOBALS
}


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle asked for a global outside the allow-list; nothing of it was executed."""


def _import_allowed(module: str, name: str) -> Any:
    # Resolve numpy.core.* through numpy._core on numpy 2 (the old path is a deprecated shim).
    if module.startswith("numpy.core."):
        try:
            return getattr(importlib.import_module("numpy._core." + module.split(".", 2)[2]), name)
        except ImportError:
            pass
    return getattr(importlib.import_module(module), name)


class RestrictedUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` that resolves only data-only globals.

    Args:
        file: a binary file object positioned at the pickle.
        source: the file's name, used in error messages.
    """

    def __init__(self, file: BinaryIO, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        # Protocol 0-2 pickles name Python 2 modules (``__builtin__.set``); map them as pickle does.
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in _ALLOWED_GLOBALS:
            return _import_allowed(module, name)
        raise UnsafePickleError(
            f"{self.source}: refusing to unpickle the global '{module}.{name}': only numpy arrays, "
            "numpy scalars/dtypes and plain containers are allowed (a pickle that names other "
            "globals can run arbitrary code; re-export the file with plain numpy arrays if you trust it)"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            f"{self.source}: persistent ids are not allowed in a data pickle (got {pid!r})"
        )


def safe_load_pickle(path: str | os.PathLike) -> Any:
    """Unpickle ``path`` allowing only numpy arrays, numpy scalars/dtypes and plain containers.

    Raises:
        UnsafePickleError: the pickle names a forbidden global (nothing was executed).
        ValueError: the file is not a readable pickle (truncated or corrupt).
    """
    path = os.fspath(path)
    with open(path, "rb") as handle:
        try:
            return RestrictedUnpickler(handle, source=path).load()
        except UnsafePickleError:
            raise
        except (
            pickle.UnpicklingError,
            EOFError,
            AttributeError,
            ImportError,
            IndexError,
            TypeError,
        ) as error:
            raise ValueError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from error
