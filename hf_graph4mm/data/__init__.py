"""Dataset builders for the raw WikiWeb2M, Ele-Fashion and MMSA releases."""

from .ele_fashion import ele_fashion_graph, load_ele_fashion, load_ele_fashion_graph_dataset  # noqa: F401
from .mmsa import load_mmsa  # noqa: F401
from .safe_pickle import UnsafePickleError, safe_load_pickle  # noqa: F401
from .wikiweb2m import load_wikiweb2m, write_wikiweb2m_sample  # noqa: F401
