"""Attention backends for the graph and fusion modules: eager reference, sdpa, Triton.

Importing this package knows nothing of the models; models import it.
"""

from .backends import (
    ATTENTION_IMPLEMENTATIONS,
    check_implementation,
    get_backend,
    register_backend,
    triton_unavailable_reason,
)
from .hop_diffused import diffusion_weights, hop_diffused_attention, hop_diffused_attention_eager
from .interlaced import (
    NAMED_PATTERNS,
    interlaced_attention,
    interlaced_attention_eager,
    interlaced_block_mask,
    resolve_pattern,
)

__all__ = [
    "ATTENTION_IMPLEMENTATIONS",
    "NAMED_PATTERNS",
    "check_implementation",
    "diffusion_weights",
    "get_backend",
    "hop_diffused_attention",
    "hop_diffused_attention_eager",
    "interlaced_attention",
    "interlaced_attention_eager",
    "interlaced_block_mask",
    "register_backend",
    "resolve_pattern",
    "triton_unavailable_reason",
]
