"""Interlaced attention on ``torch.nn.functional.scaled_dot_product_attention``.

The Interlaced Mask is block-structured: query segment ``s`` sees only key segment
``pattern[s]``. So instead of a ``[T, T]`` score matrix that is mostly ``-inf``, this
backend computes one block per (query segment, key segment) pair: the cost is
``sum_s T_s * T_pattern[s]`` instead of ``T^2``, and nothing of size ``T x T`` exists.

Each block takes the faster path for where it runs (:func:`segment_pair_path`):

* "sdpa": one fused SDPA call;
* "explicit" (CPU with attention dropout): scores, softmax, dropout, matmul, as the eager
  reference does, a few (batch x head) pairs at a time so the scores stay in cache, keeping only
  a boolean mask and one log-sum-exp per row for a recomputing backward (:mod:`.dropped`).
  On CPU, SDPA with ``dropout_p > 0`` leaves its fused kernel for a math path of the same steps
  whose mask is drawn one random number at a time (bernoulli) and whose autograd keeps three
  float tensors per block; ours draws four mask entries per random word
  (:func:`~hf_graph4mm.kernels.dropout.dropout_keep`). Timings: benchmarks/RESULTS.md.

* "autograd" (CPU, gradients wanted, no dropout): scores, masked softmax and product left to autograd, as
  eager computes them: in a GsiT training step on the 2-core CPU these ran faster than SDPA's fused CPU
  backward (benchmarks/RESULTS.md, "Against the published formulations").

Without dropout and without gradients the fused kernel is kept on CPU: an explicit path would need the
strided q/k/v head views copied, which SDPA reads in place (benchmarks/attention.py compares the two).

On padded batches the model hands a CPU forward its rows instead (:func:`interlaced_attention_sdpa_rows`,
``interlaced_attention_sdpa.rows``): one block per sample and segment pair, each only as long as that
sample's real steps, so no score of a padded query or key is computed and nothing is packed or unpacked
around the kernel; the padded path computes ``T_q x T_k`` scores per block whatever the real lengths.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..softmax import attention_block
from .dropped import dropped_attention
from .layout import InterlacedLayout
from .patterns import concat_segments


def segment_pair_path(device: torch.device, dropout_p: float, grad: bool = False) -> str:
    """What :func:`interlaced_attention_sdpa` runs for a block on ``device``: "explicit" (CPU, dropout),
    "autograd" (CPU, gradients wanted, no dropout) or "sdpa"."""
    if device.type != "cpu":
        return "sdpa"
    if dropout_p > 0.0:
        return "explicit"
    return "autograd" if grad else "sdpa"


def _autograd_block(query, key, value, layout: InterlacedLayout, key_segment: int, scaling: float | None):
    """One block as scores, masked softmax and product under autograd (what eager computes, without its
    host check): on the 2-core CPU a training step runs these faster than SDPA's fused CPU backward."""
    scale = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
    key_is_real = layout.segment_key_masks[key_segment]
    if key_is_real is None:  # no padding: exactly eager's block, so the default is never slower than eager
        return attention_block(query, key, value, None, scale)
    # the strided head views make matmul slow on CPU: scaling q makes it contiguous in the same pass
    scores = torch.matmul(query * scale, key.contiguous().transpose(-1, -2))
    sample_has_key = None
    if layout.segment_lacks_key[key_segment]:
        sample_has_key, allowed = layout.cached(("sdpa_open_rows", key_segment), lambda: _open_empty_rows(key_is_real))
    else:
        allowed = key_is_real[:, None, None, :]
    blocked = layout.cached(("sdpa_blocked", key_segment, sample_has_key is None), lambda: ~allowed)
    scores = scores.masked_fill(blocked, float("-inf"))
    output = torch.matmul(torch.softmax(scores, dim=-1), value.contiguous())
    return output if sample_has_key is None else torch.where(sample_has_key, output, torch.zeros_like(output))


def _segment_pair_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: InterlacedLayout,
    key_segment: int,
    scaling: float | None,
    dropout_p: float,
) -> torch.Tensor:
    """One block of the interlaced pattern: ``query`` against key segment ``key_segment``.

    Args:
        query: ``[batch, heads, T_q, head_dim]``; key, value: ``[batch, heads, T_k, head_dim]``.

    Returns:
        ``[batch, heads, T_q, head_dim]``; zero for samples whose keys are all padding.
    """
    if key.shape[-2] == 0:  # an empty key segment: nothing to attend to
        return query.new_zeros(query.shape[:-1] + value.shape[-1:])
    key_is_real = layout.segment_key_masks[key_segment]  # [batch, T_k] or None
    grad = torch.is_grad_enabled() and (query.requires_grad or key.requires_grad or value.requires_grad)
    path = segment_pair_path(query.device, dropout_p, grad)
    if path == "explicit":
        scale = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
        return dropped_attention(query, key, value, key_is_real, dropout_p, scale)
    if path == "autograd":
        return _autograd_block(query, key, value, layout, key_segment, scaling)
    if key_is_real is None:
        return F.scaled_dot_product_attention(query, key, value, dropout_p=dropout_p, scale=scaling)
    if not layout.segment_lacks_key[key_segment]:
        attn_mask = key_is_real[:, None, None, :]  # [batch, 1, 1, T_k]
        return F.scaled_dot_product_attention(
            query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, scale=scaling
        )
    # A sample with no real key would be a fully masked row (NaN on some SDPA paths): let it see all
    # keys and zero its result, as the eager reference does.
    sample_has_key, attn_mask = layout.cached(("sdpa_open_rows", key_segment), lambda: _open_empty_rows(key_is_real))
    output = F.scaled_dot_product_attention(
        query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, scale=scaling
    )
    return torch.where(sample_has_key, output, torch.zeros_like(output))


def _open_empty_rows(key_is_real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``([batch, 1, 1, 1]`` samples with a real key, ``[batch, 1, 1, T_k]`` mask opening the others to all keys)."""
    sample_has_key = key_is_real.any(dim=-1)
    return sample_has_key[:, None, None, None], (key_is_real | ~sample_has_key[:, None])[:, None, None, :]


def interlaced_attention_sdpa(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: InterlacedLayout,
    pattern: tuple[int, ...],
    scaling: float | None = None,
    dropout_p: float = 0.0,
    query_segment_lengths: Sequence[int] | None = None,
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.eager.interlaced_attention_eager` (dropout aside).

    Args:
        query: ``[batch, heads, T_q, head_dim]``, T_q = ``sum(query_segment_lengths)``;
            key, value: ``[batch, heads, T, head_dim]``, T = ``sum(layout.segment_lengths)``.
        query_segment_lengths: how many queries each segment has (default the layout's: all).

    Returns:
        ``[batch, heads, T_q, head_dim]``; rows with no real key are zero.
    """
    lengths = list(layout.segment_lengths)
    query_lengths = lengths if query_segment_lengths is None else list(query_segment_lengths)
    # split, not slicing: the backward of a split is one concatenation, while each slice's backward
    # would allocate a zero tensor of the full sequence and add into it.
    queries = query.split(query_lengths, dim=-2)
    keys, values = (t.split(lengths, dim=-2) for t in (key, value))
    outputs = [
        _segment_pair_attention(
            queries[query_segment], keys[key_segment], values[key_segment], layout, key_segment, scaling, dropout_p
        )
        for query_segment, key_segment in enumerate(pattern)
    ]
    return concat_segments(outputs)


# The rows variant runs one SDPA call per sample and segment where the padded path runs one per segment,
# and skips the unpack / pack around the kernel. It pays off once the padded scores outnumber the real ones
# by this much (benchmarks/gsit_rows_path.py, MOSI-shaped batch 8, benchmarks/RESULTS.md): from 1.06x more
# padded scores it was faster in a training step (1.12x-1.30x) and in inference (1.05x-1.13x); with almost
# no padding (1.00x) the two tie. Inference keeps a margin for the per-block calls.
ROWS_MIN_SAVING = {"training": 1.0, "inference": 1.1}


def rows_path_applies(layout: InterlacedLayout, pattern: tuple[int, ...], device: torch.device) -> bool:
    """Whether a CPU forward should take :func:`interlaced_attention_sdpa_rows` for ``pattern``: host lengths
    known, padding present, and the padded path computing at least ``ROWS_MIN_SAVING`` times the real scores
    (the "training" threshold when autograd records, "inference" otherwise)."""
    if device.type != "cpu" or layout.blocks is None:
        return False
    padded, real = layout.cached(("score_entries", pattern), lambda: layout.score_entries(pattern))
    saving = ROWS_MIN_SAVING["training" if torch.is_grad_enabled() else "inference"]
    return padded > real and padded >= saving * real


def _rows_block(query, key, value, scaling, dropout_p):
    """``[L_q, heads, d]`` queries of one sample against its ``[L_k, heads, d]`` keys -> ``[L_q, heads, d_v]``."""
    if key.shape[0] == 0:
        return query.new_zeros(query.shape[:-1] + value.shape[-1:])
    query, key, value = (t.transpose(0, 1).unsqueeze(0) for t in (query, key, value))  # [1, heads, L, d] views
    if segment_pair_path(query.device, dropout_p) == "explicit":
        scale = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
        output = dropped_attention(query, key, value, None, dropout_p, scale)
    else:
        output = F.scaled_dot_product_attention(query, key, value, dropout_p=dropout_p, scale=scaling)
    return output[0].transpose(0, 1)


def interlaced_attention_sdpa_rows(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: InterlacedLayout,
    pattern: tuple[int, ...],
    scaling: float | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """The same attention on the real rows only (no padding anywhere), one block per sample and segment.

    Args:
        query, key, value: ``[N, heads, head_dim]``, the layout's rows; ``layout.blocks`` gives their
            blocks (sample-major, the real steps of each segment, contiguous).

    Returns:
        ``[N, heads, head_dim]``, the rows' outputs in the same order.
    """
    blocks = layout.blocks
    segments = len(layout.segment_lengths)
    queries, keys, values = (t.split(blocks) for t in (query, key, value))
    outputs = []
    for sample in range(len(blocks) // segments):
        for query_segment, key_segment in enumerate(pattern):
            source = sample * segments + key_segment
            outputs.append(
                _rows_block(queries[sample * segments + query_segment], keys[source], values[source], scaling, dropout_p)
            )
    return torch.cat(outputs)


interlaced_attention_sdpa_rows.applies = rows_path_applies
interlaced_attention_sdpa.rows = interlaced_attention_sdpa_rows
