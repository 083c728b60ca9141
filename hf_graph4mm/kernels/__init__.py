"""Attention backends for the graph and fusion modules: eager reference, sdpa, Triton, flex_attention.

Importing this package knows nothing of the models or of transformers; models import it.
Each attention core is a package with one file per backend, named alike in both
(``hop_diffused/{eager,sdpa,triton,flex}.py``, ``interlaced/{eager,sdpa,triton,flex}.py``), its
backend table in the package's ``__init__`` (:class:`HopDiffusedAttentionInterface`,
:class:`InterlacedAttentionInterface`); the Q-Former's small key-masked core is one file
(:class:`KeyMaskedAttentionInterface`). Math shared across cores lives by topic: ``softmax``,
``dropout``. The Triton and flex backends are named in the tables by module and imported the first
time they are asked for, so importing this package never needs Triton. docs/ARCHITECTURE.md draws
the whole path.
"""

from .availability import ATTENTION_IMPLEMENTATIONS, check_implementation, triton_unavailable_reason
from .hop_diffused import (
    HopDiffusedAttentionInterface,
    diffusion_weights,
    hop_diffused_attention,
    hop_diffused_attention_eager,
    hop_diffused_attention_sdpa,
)
from .interlaced import (
    NAMED_PATTERNS,
    InterlacedAttentionInterface,
    InterlacedLayout,
    interlaced_attention,
    interlaced_attention_eager,
    interlaced_attention_sdpa,
    interlaced_block_mask,
    resolve_pattern,
)
from .key_masked import KeyMaskedAttentionInterface
from .registry import AttentionCoreInterface, get_backend
from .softmax import masked_attention_probs

__all__ = [
    "ATTENTION_IMPLEMENTATIONS",
    "NAMED_PATTERNS",
    "AttentionCoreInterface",
    "HopDiffusedAttentionInterface",
    "InterlacedAttentionInterface",
    "InterlacedLayout",
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
    "resolve_pattern",
    "triton_unavailable_reason",
]
