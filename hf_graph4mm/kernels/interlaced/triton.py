"""Fused Triton kernels for interlaced (segment-paired) attention, forward and backward.

Flash-attention style: each program owns one block of query rows of one (batch, head),
and walks only the key blocks of the segment its query segment is paired with, keeping
a running max and sum (online softmax). Key padding is applied in-kernel, segments may
have any length (blocks never straddle two segments: a small host-side table lists the
blocks), and each pass is one launch:

* forward: a grid over (query block, batch * heads); writes the output and the row
  log-sum-exp (``+inf`` for a row with no real key, so its probabilities recompute as 0).
* backward: one grid holds two kinds of programs: the first ones each own a key block
  and accumulate its dK, dV over every query segment paired with its segment; the rest
  each own a query block and accumulate its dQ. No atomics, no second launch. The row
  terms ``delta = rowsum(dO * O)`` are computed by torch beforehand (a ``[B, H, T]`` reduction).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence

import torch
import triton
import triton.language as tl

from ..fallback import warn_once
from ..triton_support import check_device, compute_dtype, dot_precision
from .layout import InterlacedLayout
from .sdpa import interlaced_attention_sdpa

MAX_HEAD_DIM = 128


@triton.jit
def _key_block(
    K, V, KPM, bh_offset, batch, seq_len, key_start, key_end, head_dim, offs_d,
    HAS_KPM: tl.constexpr, BLOCK_N: tl.constexpr,
):  # fmt: skip
    """Load keys/values ``[BLOCK_N, BLOCK_D]`` at ``key_start`` and which of them are real."""
    offs_n = key_start + tl.arange(0, BLOCK_N)
    key_real = offs_n < key_end
    if HAS_KPM:
        key_real = key_real & (tl.load(KPM + batch * seq_len + offs_n, mask=key_real, other=0) != 0)
    ptrs = bh_offset + offs_n[:, None] * head_dim + offs_d[None, :]
    ok = (offs_n[:, None] < key_end) & (offs_d[None, :] < head_dim)
    key = tl.load(K + ptrs, mask=ok, other=0.0)
    value = tl.load(V + ptrs, mask=ok, other=0.0)
    return key, value, key_real, ptrs, ok


@triton.jit
def _query_block(QUERY_BLOCKS, block):
    """Row ``block`` of the query-block table: (query_start, query_segment_end, key_lo, key_hi)."""
    row = QUERY_BLOCKS + block * 4
    return tl.load(row), tl.load(row + 1), tl.load(row + 2), tl.load(row + 3)


@triton.jit
def _interlaced_fwd_kernel(
    Q,
    K,
    V,
    KPM,
    QUERY_BLOCKS,
    SCALE,
    OUT,
    LSE,
    num_heads,
    seq_len,
    head_dim,
    HAS_KPM: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PRECISION: tl.constexpr,
):
    block = tl.program_id(0)
    bh = tl.program_id(1)
    batch = bh // num_heads
    bh_offset = bh * seq_len * head_dim
    query_start, query_end, key_lo, key_hi = _query_block(QUERY_BLOCKS, block)

    offs_m = query_start + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    q_ptrs = bh_offset + offs_m[:, None] * head_dim + offs_d[None, :]
    q_ok = (offs_m[:, None] < query_end) & (offs_d[None, :] < head_dim)
    query = tl.load(Q + q_ptrs, mask=q_ok, other=0.0)
    scale = tl.load(SCALE)

    row_max = tl.full((BLOCK_M,), float("-inf"), dtype=scale.dtype)
    row_sum = tl.zeros((BLOCK_M,), dtype=scale.dtype)
    acc = tl.zeros((BLOCK_M, BLOCK_D), dtype=scale.dtype)
    for key_start in range(key_lo, key_hi, BLOCK_N):
        key, value, key_real, _, _ = _key_block(
            K, V, KPM, bh_offset, batch, seq_len, key_start, key_hi, head_dim, offs_d, HAS_KPM, BLOCK_N
        )
        scores = tl.dot(query, tl.trans(key), input_precision=PRECISION) * scale
        scores = tl.where(key_real[None, :], scores, float("-inf"))
        new_max = tl.maximum(row_max, tl.max(scores, 1))
        safe_max = tl.where(new_max == float("-inf"), 0.0, new_max)  # no real key yet: keep exp finite
        probs = tl.exp(scores - safe_max[:, None])
        rescale = tl.exp(row_max - safe_max)
        row_sum = row_sum * rescale + tl.sum(probs, 1)
        acc = acc * rescale[:, None] + tl.dot(probs.to(value.dtype), value, input_precision=PRECISION)
        row_max = new_max

    has_key = row_sum > 0
    output = acc / tl.where(has_key, row_sum, 1.0)[:, None]
    tl.store(OUT + q_ptrs, output.to(OUT.dtype.element_ty), mask=q_ok)
    lse = tl.where(has_key, row_max + tl.log(tl.where(has_key, row_sum, 1.0)), float("inf"))
    tl.store(LSE + bh * seq_len + offs_m, lse, mask=offs_m < query_end)


@triton.jit
def _query_rows_for_backward(
    Q, GRAD_OUT, LSE, DELTA, bh, bh_offset, seq_len, head_dim, query_start, query_end, offs_d,
    BLOCK_M: tl.constexpr,
):  # fmt: skip
    """Load ``BLOCK_M`` query rows from ``query_start`` (up to ``query_end``): q, dO, lse, delta."""
    offs_m = query_start + tl.arange(0, BLOCK_M)
    row_ok = offs_m < query_end
    q_ptrs = bh_offset + offs_m[:, None] * head_dim + offs_d[None, :]
    q_ok = row_ok[:, None] & (offs_d[None, :] < head_dim)
    query = tl.load(Q + q_ptrs, mask=q_ok, other=0.0)
    grad_out = tl.load(GRAD_OUT + q_ptrs, mask=q_ok, other=0.0)
    lse = tl.load(LSE + bh * seq_len + offs_m, mask=row_ok, other=float("inf"))  # +inf: the row gets p = 0
    delta = tl.load(DELTA + bh * seq_len + offs_m, mask=row_ok, other=0.0)
    return query, grad_out, lse, delta, q_ptrs, q_ok


@triton.jit
def _grad_key_value_block(
    Q, K, V, KPM, GRAD_OUT, LSE, DELTA, GRAD_K, GRAD_V, SEGMENTS, PATTERN, KEY_BLOCKS, block,
    bh, batch, seq_len, head_dim, scale,
    NUM_SEGMENTS: tl.constexpr, HAS_KPM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    """dK, dV of one key block: sum over the query rows of every segment paired with its segment."""
    bh_offset = bh * seq_len * head_dim
    key_start = tl.load(KEY_BLOCKS + block * 3)
    key_end = tl.load(KEY_BLOCKS + block * 3 + 1)
    key_segment = tl.load(KEY_BLOCKS + block * 3 + 2)
    offs_d = tl.arange(0, BLOCK_D)
    key, value, key_real, k_ptrs, k_ok = _key_block(
        K, V, KPM, bh_offset, batch, seq_len, key_start, key_end, head_dim, offs_d, HAS_KPM, BLOCK_N
    )
    grad_key = tl.zeros((BLOCK_N, BLOCK_D), dtype=scale.dtype)
    grad_value = tl.zeros((BLOCK_N, BLOCK_D), dtype=scale.dtype)
    for segment in tl.static_range(NUM_SEGMENTS):
        query_lo = tl.load(SEGMENTS + segment)
        query_hi = tl.load(SEGMENTS + segment + 1)
        paired = tl.load(PATTERN + segment) == key_segment
        query_hi = tl.where(paired, query_hi, query_lo)  # unpaired segments contribute nothing
        for query_start in range(query_lo, query_hi, BLOCK_M):
            query, grad_out, lse, delta, _, _ = _query_rows_for_backward(
                Q,
                GRAD_OUT,
                LSE,
                DELTA,
                bh,
                bh_offset,
                seq_len,
                head_dim,
                query_start,
                query_hi,
                offs_d,
                BLOCK_M,
            )
            scores = tl.dot(query, tl.trans(key), input_precision=PRECISION) * scale
            probs = tl.where(key_real[None, :], tl.exp(scores - lse[:, None]), 0.0)
            grad_value += tl.dot(tl.trans(probs).to(grad_out.dtype), grad_out, input_precision=PRECISION)
            grad_probs = tl.dot(grad_out, tl.trans(value), input_precision=PRECISION)
            grad_scores = probs * (grad_probs - delta[:, None])
            grad_key += tl.dot(tl.trans(grad_scores).to(query.dtype), query, input_precision=PRECISION)
    tl.store(GRAD_K + k_ptrs, (grad_key * scale).to(GRAD_K.dtype.element_ty), mask=k_ok)
    tl.store(GRAD_V + k_ptrs, grad_value.to(GRAD_V.dtype.element_ty), mask=k_ok)


@triton.jit
def _grad_query_block(
    Q, K, V, KPM, GRAD_OUT, LSE, DELTA, GRAD_Q, QUERY_BLOCKS, block,
    bh, batch, seq_len, head_dim, scale,
    HAS_KPM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
    PRECISION: tl.constexpr,
):  # fmt: skip
    """dQ of one query block: its row of blocks, exactly the key blocks the forward visited."""
    bh_offset = bh * seq_len * head_dim
    query_start, query_end, key_lo, key_hi = _query_block(QUERY_BLOCKS, block)
    offs_d = tl.arange(0, BLOCK_D)
    query, grad_out, lse, delta, q_ptrs, q_ok = _query_rows_for_backward(
        Q, GRAD_OUT, LSE, DELTA, bh, bh_offset, seq_len, head_dim, query_start, query_end, offs_d, BLOCK_M
    )
    grad_query = tl.zeros((BLOCK_M, BLOCK_D), dtype=scale.dtype)
    for key_start in range(key_lo, key_hi, BLOCK_N):
        key, value, key_real, _, _ = _key_block(
            K, V, KPM, bh_offset, batch, seq_len, key_start, key_hi, head_dim, offs_d, HAS_KPM, BLOCK_N
        )
        scores = tl.dot(query, tl.trans(key), input_precision=PRECISION) * scale
        probs = tl.where(key_real[None, :], tl.exp(scores - lse[:, None]), 0.0)
        grad_probs = tl.dot(grad_out, tl.trans(value), input_precision=PRECISION)
        grad_scores = probs * (grad_probs - delta[:, None])
        grad_query += tl.dot(grad_scores.to(key.dtype), key, input_precision=PRECISION)
    tl.store(GRAD_Q + q_ptrs, (grad_query * scale).to(GRAD_Q.dtype.element_ty), mask=q_ok)


@triton.jit
def _interlaced_bwd_kernel(
    Q, K, V, KPM, GRAD_OUT, LSE, DELTA, SCALE, GRAD_Q, GRAD_K, GRAD_V,
    SEGMENTS, PATTERN, QUERY_BLOCKS, KEY_BLOCKS, num_key_blocks,
    num_heads, seq_len, head_dim,
    NUM_SEGMENTS: tl.constexpr, HAS_KPM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    block = tl.program_id(0)
    bh = tl.program_id(1)
    batch = bh // num_heads
    scale = tl.load(SCALE)
    if block < num_key_blocks:
        _grad_key_value_block(
            Q, K, V, KPM, GRAD_OUT, LSE, DELTA, GRAD_K, GRAD_V, SEGMENTS, PATTERN, KEY_BLOCKS, block,
            bh, batch, seq_len, head_dim, scale,
            NUM_SEGMENTS, HAS_KPM, BLOCK_M, BLOCK_N, BLOCK_D, PRECISION,
        )  # fmt: skip
    else:
        _grad_query_block(
            Q, K, V, KPM, GRAD_OUT, LSE, DELTA, GRAD_Q, QUERY_BLOCKS, block - num_key_blocks,
            bh, batch, seq_len, head_dim, scale,
            HAS_KPM, BLOCK_M, BLOCK_N, BLOCK_D, PRECISION,
        )  # fmt: skip


def block_size() -> int:
    """Rows per block: 64 on a GPU; 16 in the CPU interpreter, where small tiles are cheaper to emulate."""
    return 16 if os.environ.get("TRITON_INTERPRET") == "1" else 64


@functools.lru_cache(maxsize=256)
def _block_tables(segment_lengths: tuple[int, ...], pattern: tuple[int, ...], block: int):
    """Host-side tables (python lists) describing the blocks of the pattern.

    Returns:
        segments: ``[S + 1]`` segment boundaries.
        query_blocks: ``[n_q, 4]`` rows ``(query_start, query_segment_end, key_lo, key_hi)``.
        key_blocks: ``[n_k, 3]`` rows ``(key_start, key_segment_end, key_segment)``.
    """
    segments = [0]
    for length in segment_lengths:
        segments.append(segments[-1] + length)
    query_blocks, key_blocks = [], []
    for segment, key_segment in enumerate(pattern):
        lo, hi = segments[segment], segments[segment + 1]
        for start in range(lo, hi, block):
            query_blocks.append((start, hi, segments[key_segment], segments[key_segment + 1]))
            key_blocks.append((start, hi, segment))
    return segments, query_blocks, key_blocks


@functools.lru_cache(maxsize=256)
def _device_tables(
    segment_lengths: tuple[int, ...], pattern: tuple[int, ...], block: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """:func:`_block_tables` as int32 tensors on ``device``, made once per layout (no copy per call)."""
    segments, query_blocks, key_blocks = _block_tables(segment_lengths, pattern, block)
    return dict(
        segments=torch.tensor(segments, dtype=torch.int32, device=device),
        pattern=torch.tensor(pattern, dtype=torch.int32, device=device),
        query_blocks=torch.tensor(query_blocks, dtype=torch.int32, device=device).reshape(-1, 4),
        key_blocks=torch.tensor(key_blocks, dtype=torch.int32, device=device).reshape(-1, 3),
    )


class InterlacedAttentionFunction(torch.autograd.Function):
    """autograd wrapper; inputs ``[batch, heads, T, head_dim]``, ``key_padding_mask [batch, T]`` or None."""

    @staticmethod
    def forward(ctx, query, key, value, layout, pattern, scaling):
        query, key, value = (t.contiguous() for t in (query, key, value))
        batch, heads, seq_len, head_dim = query.shape
        block = block_size()
        device = query.device
        tables = _device_tables(layout.segment_lengths, tuple(pattern), block, device)
        query_blocks = tables["query_blocks"]
        accumulate_dtype = compute_dtype(query.dtype)
        has_kpm = layout.key_padding_mask is not None
        kpm = layout.cached(("triton_key_mask", device), lambda: _key_mask_bytes(layout, device))
        scale = torch.tensor([scaling], dtype=accumulate_dtype, device=device)
        output = torch.empty_like(query)
        lse = torch.empty((batch, heads, seq_len), dtype=accumulate_dtype, device=device)
        meta = dict(
            HAS_KPM=has_kpm,
            BLOCK_M=block,
            BLOCK_N=block,
            BLOCK_D=max(16, triton.next_power_of_2(head_dim)),
            PRECISION=dot_precision(query.dtype),
        )
        if query_blocks.shape[0]:
            _interlaced_fwd_kernel[(query_blocks.shape[0], batch * heads)](
                query, key, value, kpm, query_blocks, scale, output, lse,
                heads, seq_len, head_dim, **meta,
            )  # fmt: skip
        ctx.save_for_backward(query, key, value, kpm, output, lse, scale, *tables.values())
        ctx.meta = meta
        ctx.num_segments = len(layout.segment_lengths)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        query, key, value, kpm, output, lse, scale, segments, pattern, query_blocks, key_blocks = (
            ctx.saved_tensors
        )
        batch, heads, seq_len, head_dim = query.shape
        grad_output = grad_output.contiguous()
        delta = (grad_output.to(lse.dtype) * output.to(lse.dtype)).sum(-1)  # [batch, heads, T]
        grad_query, grad_key, grad_value = (torch.empty_like(t) for t in (query, key, value))
        num_query_blocks, num_key_blocks = query_blocks.shape[0], key_blocks.shape[0]
        if num_query_blocks:
            _interlaced_bwd_kernel[(num_key_blocks + num_query_blocks, batch * heads)](
                query, key, value, kpm, grad_output, lse, delta, scale, grad_query, grad_key, grad_value,
                segments, pattern, query_blocks, key_blocks, num_key_blocks,
                heads, seq_len, head_dim, NUM_SEGMENTS=ctx.num_segments, **ctx.meta,
            )  # fmt: skip
        return grad_query, grad_key, grad_value, None, None, None


def _key_mask_bytes(layout: InterlacedLayout, device) -> torch.Tensor:
    """The key padding mask as the kernels read it (uint8), or a one-byte placeholder without one."""
    if layout.key_padding_mask is None:
        return torch.zeros(1, dtype=torch.uint8, device=device)
    return layout.key_padding_mask.contiguous().to(torch.uint8)


def interlaced_attention_triton_kernel(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: InterlacedLayout,
    pattern: tuple[int, ...],
    scaling: float,
) -> torch.Tensor:
    """The fused kernels (no dropout). Shapes as in ``interlaced_attention``."""
    return InterlacedAttentionFunction.apply(query, key, value, layout, tuple(pattern), scaling)


def interlaced_attention_triton(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: InterlacedLayout,
    pattern: tuple[int, ...],
    scaling: float | None = None,
    dropout_p: float = 0.0,
    query_segment_lengths: Sequence[int] | None = None,
) -> torch.Tensor:
    """The "triton" backend: same contract and numbers as :func:`~.eager.interlaced_attention_eager`.

    Falls back to sdpa (one-time ``UserWarning``, results unchanged) with ``dropout_p > 0`` (the
    kernels have no in-kernel dropout: at eval time, and with dropout 0, they run), heads wider
    than ``MAX_HEAD_DIM`` and value heads of another width than the query's. A query subset
    (``query_segment_lengths``, e.g. the one step per modality a classifier head reads) runs sdpa
    without a warning: the kernel's block tables assume every query, and a few rows gain nothing from it.
    """
    check_device(query)
    if query_segment_lengths is not None and tuple(query_segment_lengths) != layout.segment_lengths:
        return interlaced_attention_sdpa(
            query, key, value, layout, pattern, scaling=scaling, dropout_p=dropout_p,
            query_segment_lengths=query_segment_lengths,
        )  # fmt: skip
    head_dim = query.shape[-1]
    if dropout_p > 0.0 or head_dim > MAX_HEAD_DIM or value.shape[-1] != head_dim:
        warn_once(
            f"interlaced_fallback_{dropout_p > 0.0}",
            "Triton interlaced attention has no attention dropout and handles head_dim up to "
            f"{MAX_HEAD_DIM} (the same for value); got dropout_p={dropout_p}, head_dim {head_dim} "
            f"(value {value.shape[-1]}): using sdpa (call model.eval() or set the attention dropout to 0 "
            "to run the kernel)",
        )
        return interlaced_attention_sdpa(query, key, value, layout, pattern, scaling=scaling, dropout_p=dropout_p)
    scaling = 1.0 / math.sqrt(head_dim) if scaling is None else scaling
    return interlaced_attention_triton_kernel(query, key, value, layout, pattern, scaling)
