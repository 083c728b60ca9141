"""Dataset builders for the raw WikiWeb2M, Ele-Fashion and MMSA releases, one subpackage each.

Each of :mod:`.wikiweb2m`, :mod:`.ele_fashion` and :mod:`.mmsa` holds its release's readers, their
up-front checks and a ``datasets`` builder (``builder.py``); :mod:`.features` is the graph column type
they share. Small files in these release formats: :mod:`hf_graph4mm.testing.samples`.

Users' own data: :mod:`.sentiment` (ragged sentiment features) and :mod:`.user_graph` (node and edge tables,
PyG). :mod:`.layouts` is the one loader of ``hf-graph4mm train`` / ``evaluate`` / ``predict`` (every layout
above and the scripts' outputs); :mod:`.references` tells a local path from a Hub id before any download.
"""

from ._testing_exports import testing_exports
from .ele_fashion import ele_fashion_graph, load_ele_fashion, load_ele_fashion_graph_dataset
from .mmsa import UnsafePickleError, load_mmsa, safe_load_pickle
from .wikiweb2m import load_wikiweb2m

__all__ = [
    "UnsafePickleError",
    "ele_fashion_graph",
    "load_ele_fashion",
    "load_ele_fashion_graph_dataset",
    "load_mmsa",
    "load_wikiweb2m",
    "safe_load_pickle",
    "write_wikiweb2m_sample",
]

__getattr__ = testing_exports(__name__, "samples.wikiweb2m", ("write_wikiweb2m_sample",))
