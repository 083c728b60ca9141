"""Attention backends for the graph and fusion modules: eager reference, sdpa, Triton.

Importing this package knows nothing of the models; models import it. The eager and
sdpa backends register on import; the Triton ones register the first time "triton" is
asked for (``backends.get_backend``), so importing this package never needs Triton.
"""

from .backends import (
    ATTENTION_IMPLEMENTATIONS,
    check_implementation,
    get_backend,
    register_backend,
    triton_unavailable_reason,
)
from .hop_diffused import diffusion_weights, hop_diffused_attention, hop_diffused_attention_eager
from .hop_diffused_sdpa import hop_diffused_attention_sdpa
from .interlaced import (
    NAMED_PATTERNS,
    interlaced_attention,
    interlaced_attention_eager,
    interlaced_block_mask,
    resolve_pattern,
)
from .interlaced_sdpa import interlaced_attention_sdpa

__all__ = [
    "ATTENTION_IMPLEMENTATIONS",
    "NAMED_PATTERNS",
    "check_implementation",
    "diffusion_weights",
    "get_backend",
    "hop_diffused_attention",
    "hop_diffused_attention_eager",
    "hop_diffused_attention_sdpa",
    "interlaced_attention",
    "interlaced_attention_eager",
    "interlaced_attention_sdpa",
    "interlaced_block_mask",
    "register_backend",
    "resolve_pattern",
    "triton_unavailable_reason",
]
