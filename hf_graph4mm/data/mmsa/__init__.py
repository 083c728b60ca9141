"""CMU-MOSI, CMU-MOSEI and CH-SIMS from the MMSA pickles, as ``datasets`` for GsiT.

Modules: :mod:`.safe_pickle` (an unpickler that builds data only), :mod:`.reader` (the pickle's
layout checked up front) and :mod:`.builder` (the ``datasets`` builder, :func:`load_mmsa`; the columns).
"""

from .._testing_exports import testing_exports
from .builder import MMSA, SPLIT_NAMES, TEXT_INPUTS, MMSAConfig, load_mmsa
from .reader import check_splits_agree, read_mmsa_pickle, read_mmsa_split
from .safe_pickle import UnsafePickleError, safe_load_pickle

_SAMPLE_NAMES = ("SAMPLE_PICKLE", "write_mmsa_pickle", "write_mmsa_sample")

__all__ = [
    "MMSA",
    "SPLIT_NAMES",
    "TEXT_INPUTS",
    "MMSAConfig",
    "UnsafePickleError",
    "check_splits_agree",
    "load_mmsa",
    "read_mmsa_pickle",
    "read_mmsa_split",
    "safe_load_pickle",
    *_SAMPLE_NAMES,
]

__getattr__ = testing_exports(__name__, "samples.mmsa", _SAMPLE_NAMES)
