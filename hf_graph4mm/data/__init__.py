"""Dataset builders for the raw WikiWeb2M, Ele-Fashion and MMSA releases."""

from .wikiweb2m import load_wikiweb2m, write_wikiweb2m_sample  # noqa: F401
