"""Per-core tables of attention backends, in the manner of transformers' ``AttentionInterface``.

Each attention core (hop-diffused, interlaced, the Q-Former's key-masked attention) defines
one subclass of :class:`AttentionCoreInterface` next to its eager reference. The class-wide
``_global_mapping`` is that core's own table, never transformers' ``ALL_ATTENTION_FUNCTIONS``:
a "triton" entry there would leak into the OPT/CLIP/BERT sub-models. A model layer keeps a
local instance and resolves ``config._attn_implementation`` when the backend is set (at
construction and by ``set_attn_implementation``), not at every call:

    HOP_DIFFUSED_FUNCTIONS = HopDiffusedAttentionInterface()      # in the layer's module
    self.attention_function = HOP_DIFFUSED_FUNCTIONS.get_interface(config._attn_implementation)

Entries are functions, or ``".module:function"`` strings (relative to this package) that are
imported the first time they are asked for: the Triton and flex backends stay lazy and this
module names none of them. ``_aliases`` says, in the one place a reader looks, where a name
runs another core's backend (e.g. the Q-Former under "triton" runs sdpa).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .availability import ATTENTION_IMPLEMENTATIONS, check_implementation

_CORES: dict[str, type[AttentionCoreInterface]] = {}


class AttentionCoreInterface:
    """``name -> attention function`` for one core; subclasses set ``core``, ``_global_mapping``, ``_aliases``."""

    core: str = ""
    _global_mapping: dict[str, Callable | str] = {}
    _aliases: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # each core owns its tables: a subclass that forgot one must not write into its parent's
        for table in ("_global_mapping", "_aliases"):
            if table not in cls.__dict__:
                setattr(cls, table, {})
        if cls.core:
            _CORES[cls.core] = cls

    def __init__(self):
        self._local_mapping: dict[str, Callable] = {}

    @classmethod
    def register(cls, name: str, function: Callable | str) -> None:
        """Make ``function`` this core's ``name`` backend everywhere (every instance sees it)."""
        if name not in ATTENTION_IMPLEMENTATIONS:
            raise ValueError(f"unknown attention implementation {name!r}; valid: {ATTENTION_IMPLEMENTATIONS}")
        cls._global_mapping[name] = function

    def __setitem__(self, name: str, function: Callable) -> None:
        """Override ``name`` for this instance only (e.g. one model file's own variant)."""
        self._local_mapping[name] = function

    def valid_keys(self) -> list[str]:
        return sorted({*self._global_mapping, *self._local_mapping, *self._aliases})

    def runs_as(self, name: str) -> str:
        """The backend name that actually runs when ``name`` is asked for (after ``_aliases``)."""
        return self._aliases.get(name, name)

    def get_interface(self, name: str | None) -> Callable:
        """The function for ``name`` (None: "eager"), validated and imported.

        Raises:
            ValueError: an unknown name, a backend that cannot run here (says why), or one this
                core does not provide (lists the ones it does).
        """
        name = "eager" if name is None else name
        check_implementation(name)
        target = self.runs_as(name)
        if target in self._local_mapping:
            return self._local_mapping[target]
        entry = self._global_mapping.get(target)
        if entry is None:
            raise ValueError(
                f"the {name!r} backend of {self.core} attention is not available; "
                f"registered: {self.valid_keys()}"
            )
        if isinstance(entry, str):
            entry = type(self)._global_mapping[target] = _import_entry(entry, self.core, name)
        return entry


def _import_entry(entry: str, core: str, name: str) -> Callable:
    """Resolve ``".module:function"`` against this package (also when exported as flat remote code)."""
    module_name, function_name = entry.split(":")
    try:
        module = importlib.import_module(module_name, package=__package__)
    except ImportError as error:
        raise ValueError(
            f"the {name!r} backend of {core} attention cannot be loaded from {module_name!r} ({error}); "
            "a checkpoint's exported remote code carries the eager and sdpa backends only"
        ) from error
    return getattr(module, function_name)


def _core(core: str) -> type[AttentionCoreInterface]:
    if core not in _CORES:
        raise ValueError(f"unknown attention core {core!r}; known: {sorted(_CORES)}")
    return _CORES[core]


def get_backend(core: str, name: str) -> Callable:
    """The function implementing ``core`` with backend ``name`` (the functional API's lookup)."""
    return _core(core)().get_interface(name)
