"""Old names of the Graph4MM test builders (they live in hf_graph4mm.testing), until the tests move."""

from __future__ import annotations

from hf_graph4mm.testing import (  # noqa: F401  # noqa: F401
    IMAGE_TOKEN_ID,
    VOCAB_SIZE,
    random_adjacency,
    select_sample,
    tiny_graph4mm_config,
)
from hf_graph4mm.testing import graph4mm_batch as make_batch  # noqa: F401

select = select_sample
tiny_config = tiny_graph4mm_config
