"""Attention backends for the graph and fusion modules: eager reference, sdpa, Triton, flex_attention.

Importing this package knows nothing of the models or of transformers; models import it.
Each attention core keeps its backend table beside its eager reference
(:class:`HopDiffusedAttentionInterface`, :class:`InterlacedAttentionInterface`,
:class:`KeyMaskedAttentionInterface`); the Triton and flex backends are named there by
module and imported the first time they are asked for, so importing this package never
needs Triton. docs/ARCHITECTURE.md draws the whole path.
"""

from .availability import ATTENTION_IMPLEMENTATIONS, check_implementation, triton_unavailable_reason
from .hop_diffused import HopDiffusedAttentionInterface, hop_diffused_attention, hop_diffused_attention_eager
from .hop_diffused_sdpa import hop_diffused_attention_sdpa
from .interface import AttentionCoreInterface, get_backend, register_backend
from .interlaced import (
    InterlacedAttentionInterface,
    interlaced_attention,
    interlaced_attention_eager,
)
from .interlaced_sdpa import interlaced_attention_sdpa
from .key_masked import KeyMaskedAttentionInterface
from .primitives import (
    NAMED_PATTERNS,
    diffusion_weights,
    interlaced_block_mask,
    masked_attention_probs,
    resolve_pattern,
)

__all__ = [
    "ATTENTION_IMPLEMENTATIONS",
    "NAMED_PATTERNS",
    "AttentionCoreInterface",
    "HopDiffusedAttentionInterface",
    "InterlacedAttentionInterface",
    "KeyMaskedAttentionInterface",
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
    "masked_attention_probs",
    "register_backend",
    "resolve_pattern",
    "triton_unavailable_reason",
]
