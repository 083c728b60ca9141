"""The "triton" backend of both attention cores, with its documented fallbacks to sdpa.

Imported lazily by :func:`.backends.get_backend` the first time "triton" is asked for,
so that importing :mod:`hf_graph4mm.kernels` never needs Triton.

Fallbacks (each announced once per process with a ``UserWarning``, results unchanged):

* hop-diffused graphs with more than ``MAX_NODES`` nodes, a head wider than
  ``MAX_HEAD_DIM``, or value heads of another width do not fit the one-program-per-graph
  kernel: they run on sdpa;
* interlaced attention with ``dropout_p > 0`` runs on sdpa (the kernels have no
  in-kernel dropout; at eval time, and with dropout 0, the kernels run); so do heads
  wider than ``MAX_HEAD_DIM`` and value heads of another width than the query's.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence

import torch

from . import triton_hop_diffused, triton_interlaced
from .backends import register_backend
from .hop_diffused_sdpa import hop_diffused_attention_sdpa
from .interlaced_sdpa import interlaced_attention_sdpa

_warned: set[str] = set()


def _warn_once(topic: str, message: str) -> None:
    if topic not in _warned:
        _warned.add(topic)
        warnings.warn(message, UserWarning, stacklevel=3)


def _check_device(tensor: torch.Tensor) -> None:
    if tensor.device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        raise ValueError(
            f"attn_implementation='triton' needs CUDA tensors, got a tensor on {tensor.device}; move the "
            "model to a GPU or pick 'sdpa'"
        )


def hop_diffused_attention_triton(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    alpha: float,
    num_steps: int,
    scaling: float | None = None,
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.hop_diffused.hop_diffused_attention_eager`."""
    _check_device(query)
    nodes, head_dim = query.shape[-2], query.shape[-1]
    if not triton_hop_diffused.fits_on_chip(nodes, head_dim) or value.shape[-1] != head_dim:
        _warn_once(
            "hop_diffused_size",
            f"Triton hop-diffused attention handles up to {triton_hop_diffused.MAX_NODES} nodes and head_dim "
            f"{triton_hop_diffused.MAX_HEAD_DIM} (the same for value); got {nodes} nodes, head_dim {head_dim} "
            f"(value {value.shape[-1]}): using sdpa for such graphs",
        )
        return hop_diffused_attention_sdpa(query, key, value, adjacency, alpha, num_steps, scaling=scaling)
    scaling = 1.0 / math.sqrt(head_dim) if scaling is None else scaling
    return triton_hop_diffused.hop_diffused_attention_triton_kernel(
        query, key, value, adjacency, alpha, num_steps, scaling
    )


def interlaced_attention_triton(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    segment_lengths: Sequence[int],
    pattern: tuple[int, ...],
    key_padding_mask: torch.Tensor | None = None,
    scaling: float | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.interlaced.interlaced_attention_eager`."""
    _check_device(query)
    head_dim = query.shape[-1]
    if dropout_p > 0.0 or head_dim > triton_interlaced.MAX_HEAD_DIM or value.shape[-1] != head_dim:
        _warn_once(
            f"interlaced_fallback_{dropout_p > 0.0}",
            "Triton interlaced attention has no attention dropout and handles head_dim up to "
            f"{triton_interlaced.MAX_HEAD_DIM} (the same for value); got dropout_p={dropout_p}, head_dim "
            f"{head_dim} (value {value.shape[-1]}): using sdpa (call model.eval() or set the attention dropout "
            "to 0 to run the kernel)",
        )
        return interlaced_attention_sdpa(
            query,
            key,
            value,
            segment_lengths,
            pattern,
            key_padding_mask,
            scaling=scaling,
            dropout_p=dropout_p,
        )
    scaling = 1.0 / math.sqrt(head_dim) if scaling is None else scaling
    return triton_interlaced.interlaced_attention_triton_kernel(
        query, key, value, segment_lengths, pattern, key_padding_mask, scaling
    )


register_backend("hop_diffused", "triton", hop_diffused_attention_triton)
register_backend("interlaced", "triton", interlaced_attention_triton)
