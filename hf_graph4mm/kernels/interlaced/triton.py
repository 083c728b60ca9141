"""Fused Triton kernels for interlaced (segment-paired) attention, forward and backward.

Flash-attention style: each program owns one block of query rows of one (batch, head), and walks
only the key blocks of the segment its query segment is paired with, keeping a running max and sum
(online softmax, ``exp2`` with ``log2(e)`` folded into the score scale). Key padding is applied
in-kernel, segments may have any length, and blocks never straddle two segments: each program finds
its block from the segment boundaries, which are kernel arguments (no table on the device, no copy
from the host), and the pattern is a compile-time constant. Each pass is one launch on a 1-D grid
(programs of one (batch, head) adjacent), so batch x heads has no 65,535 limit.

* forward: writes the output and the row log2-sum-exp (``+inf`` for a row with no real key, so its
  probabilities recompute as 0).
* backward: one grid holds two kinds of programs: the first ones each own a key block and accumulate
  its dK, dV over every query segment paired with its segment; the rest each own a query block and
  accumulate its dQ. No atomics, no second launch. The row terms ``delta = rowsum(dO * O)`` are
  computed by torch beforehand (a ``[B, H, T]`` reduction).

Queries may be a subset (``query_segment_lengths``: GsiT's classifier sends the last real step of each
modality): query segments then have their own lengths, keys keep the layout's.

Attention dropout runs in the kernels: entry ``(b, h, i, j)`` of the probabilities is kept when the
first word of Philox4x32-10 (``tl.philox``) keyed by a seed drawn on the device, counter
``(i * T + j, b * H + h, 0, 0)``, shifted right by one, is at least ``round(p * 2^31)``; kept entries are
scaled by ``1 / (1 - round(p * 2^31) / 2^31)``. The backward regenerates the same mask;
:mod:`..philox` regenerates it in torch (tests compare against eager given that mask).

Block sizes, warps and stages are autotuned per head width, segment-length bucket and dtype among the
configurations that compile for the GPU without spills (:mod:`..triton_limits`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import triton
import triton.language as tl
from triton.runtime.errors import OutOfResources

from ..fallback import warn_once
from ..philox import draw_seed, keep_threshold
from ..triton_helpers import COMPILE_TYPES, LOG2E, dtype_refusal, scalar
from ..triton_support import (
    check_device,
    compute_dtype,
    dot_precision,
    dtype_key,
    fitting_configs,
    interpreted,
    next_block,
    split_float,
    target_name,
)
from .layout import InterlacedLayout
from .sdpa import interlaced_attention_sdpa

MAX_HEAD_DIM = 128
# (BLOCK_M, BLOCK_N, num_warps, num_stages) the autotuner chooses among, before pruning by fit and size
FORWARD_CONFIGS = ((128, 64, 8, 3), (64, 64, 4, 3), (64, 32, 4, 3), (16, 64, 4, 3))
# Backward: 32-column key blocks halve the dK / dV accumulators (what spills at head width 64 on sm_80
# with 64-column blocks in bf16, and at 32 with exact float32).
BACKWARD_CONFIGS = ((64, 64, 4, 2), (32, 64, 8, 2), (64, 32, 4, 2), (32, 32, 4, 2), (16, 32, 4, 2))
_SHAPE_ARGS = [
    "query_len",
    "key_len",
    "num_heads",
    "query_bounds",
    "key_bounds",
    "query_bucket",
    "key_bucket",
]


def _gpu_configs(kernel: str) -> list[triton.Config]:
    choices = FORWARD_CONFIGS if kernel == "interlaced fwd" else BACKWARD_CONFIGS
    return [
        triton.Config(dict(BLOCK_M=m, BLOCK_N=n), num_warps=warps, num_stages=stages)
        for m, n, warps, stages in choices
    ]


def _configs(kernel: str) -> list[triton.Config]:
    if interpreted():  # one small configuration: the interpreter emulates every element of a tile
        return [triton.Config(dict(BLOCK_M=16, BLOCK_N=16), num_warps=4, num_stages=1)]
    return _gpu_configs(kernel)


def _config_key(config: triton.Config) -> tuple[int, int, int, int]:
    return (config.kwargs["BLOCK_M"], config.kwargs["BLOCK_N"], config.num_warps, config.num_stages)


def _prune(kernel: str):
    """Keep the configurations that compile for this GPU without spills and whose blocks are no larger
    than the segments need (a 64-row block for one query row wastes 63); at least one."""

    def prune(configs, named_args, **kwargs):
        query = named_args["Q"]
        shape = (kwargs["BLOCK_D"], kwargs["DROPOUT"])
        fitting = {config for config, _ in fitting_configs(kernel, query.device, query.dtype, shape)}
        kept = [config for config in configs if _config_key(config) in fitting]
        sized = [
            config
            for config in kept
            if config.kwargs["BLOCK_M"] <= named_args["query_bucket"]
            and config.kwargs["BLOCK_N"] <= named_args["key_bucket"]
        ]
        smallest = sorted(kept, key=lambda config: config.kwargs["BLOCK_M"] * config.kwargs["BLOCK_N"])[:1]
        return sized or smallest or configs[:1]

    return prune


@triton.jit
def _block_count(BOUNDS, NUM_SEGMENTS: tl.constexpr, BLOCK: tl.constexpr):
    """How many ``BLOCK``-row blocks tile the segments ``BOUNDS[s]:BOUNDS[s + 1]`` (none straddles two)."""
    count = 0
    for s in tl.static_range(NUM_SEGMENTS):
        count += tl.cdiv(BOUNDS[s + 1] - BOUNDS[s], BLOCK)
    return count


@triton.jit
def _find_block(block, BOUNDS, NUM_SEGMENTS: tl.constexpr, BLOCK: tl.constexpr):
    """Block ``block`` of that tiling: ``(segment, first row, segment end)``."""
    segment = block * 0
    start = block * 0
    end = block * 0
    first = block * 0  # blocks before segment s
    for s in tl.static_range(NUM_SEGMENTS):
        count = tl.cdiv(BOUNDS[s + 1] - BOUNDS[s], BLOCK)
        inside = (block >= first) & (block < first + count)
        segment = tl.where(inside, s, segment)
        start = tl.where(inside, BOUNDS[s] + (block - first) * BLOCK, start)
        end = tl.where(inside, BOUNDS[s + 1], end)
        first += count
    return segment, start, end


@triton.jit
def _paired_keys(query_segment, KEY_BOUNDS, PATTERN: tl.constexpr, NUM_SEGMENTS: tl.constexpr):
    """``(key_lo, key_hi)``: the key segment that query segment ``query_segment`` attends to."""
    key_lo = query_segment * 0
    key_hi = query_segment * 0
    for s in tl.static_range(NUM_SEGMENTS):
        key_lo = tl.where(query_segment == s, KEY_BOUNDS[PATTERN[s]], key_lo)
        key_hi = tl.where(query_segment == s, KEY_BOUNDS[PATTERN[s] + 1], key_hi)
    return key_lo, key_hi


@triton.jit
def _keep(seed, bh, rows, columns, key_len, threshold):
    """The dropout mask of a tile: Philox4x32-10 keyed by ``seed`` at counter ``(row * T + column, bh, 0, 0)``."""
    counter = rows[:, None] * key_len + columns[None, :]  # wraps modulo 2^32 like the uint32 it becomes
    zero = counter * 0
    bits, _, _, _ = tl.philox(seed, counter, zero + bh, zero, zero)
    return (bits >> 1).to(tl.int32, bitcast=True) >= threshold


@triton.jit
def _key_block(
    K, V, KPM, k_base, kpm_base, key_start, key_end, head_dim, offs_d,
    HAS_KPM: tl.constexpr, BLOCK_N: tl.constexpr,
):  # fmt: skip
    """Keys/values ``[BLOCK_N, BLOCK_D]`` from ``key_start`` (up to ``key_end``), which of them are real, and
    their offsets from ``K`` (``k_base`` included)."""
    offs_n = key_start + tl.arange(0, BLOCK_N)
    key_real = offs_n < key_end
    if HAS_KPM:
        key_real = key_real & (tl.load(KPM + kpm_base + offs_n, mask=key_real, other=0) != 0)
    ptrs = k_base + offs_n[:, None] * head_dim + offs_d[None, :]
    ok = (offs_n[:, None] < key_end) & (offs_d[None, :] < head_dim)
    key = tl.load(K + ptrs, mask=ok, other=0.0)
    value = tl.load(V + ptrs, mask=ok, other=0.0)
    return key, value, key_real, offs_n, ptrs, ok


@triton.autotune(
    configs=_configs("interlaced fwd"),
    key=["head_dim", "query_bucket", "key_bucket", "NUM_SEGMENTS", "HAS_KPM", "DROPOUT", "PRECISION"],
    prune_configs_by={"early_config_prune": _prune("interlaced fwd")},
)
@triton.jit(do_not_specialize=_SHAPE_ARGS)
def _interlaced_fwd_kernel(
    Q, K, V, KPM, SEED, OUT, LSE,
    query_bounds, key_bounds, num_heads, query_len, key_len, head_dim,
    scale_hi, scale_lo, threshold, keep_scale_hi, keep_scale_lo, query_bucket, key_bucket,
    PATTERN: tl.constexpr, NUM_SEGMENTS: tl.constexpr, HAS_KPM: tl.constexpr, DROPOUT: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    acc_dtype: tl.constexpr = tl.float64 if Q.dtype.element_ty == tl.float64 else tl.float32
    blocks = _block_count(query_bounds, NUM_SEGMENTS, BLOCK_M)
    pid = tl.program_id(0)
    bh = pid // blocks
    segment, query_start, query_end = _find_block(pid % blocks, query_bounds, NUM_SEGMENTS, BLOCK_M)
    key_lo, key_hi = _paired_keys(segment, key_bounds, PATTERN, NUM_SEGMENTS)
    q_base = bh.to(tl.int64) * query_len * head_dim  # 64-bit: batch x heads x T x d may pass 2^31
    k_base = bh.to(tl.int64) * key_len * head_dim
    kpm_base = (bh // num_heads).to(tl.int64) * key_len
    scale_log2 = scalar(scale_hi, scale_lo, acc_dtype) * LOG2E

    offs_m = query_start + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    q_ptrs = offs_m[:, None] * head_dim + offs_d[None, :]
    q_ok = (offs_m[:, None] < query_end) & (offs_d[None, :] < head_dim)
    query = tl.load(Q + q_base + q_ptrs, mask=q_ok, other=0.0)
    if DROPOUT:
        seed = tl.load(SEED)

    row_max = tl.full((BLOCK_M,), float("-inf"), dtype=acc_dtype)
    row_sum = tl.zeros((BLOCK_M,), dtype=acc_dtype)
    acc = tl.zeros((BLOCK_M, BLOCK_D), dtype=acc_dtype)
    for key_start in range(key_lo, key_hi, BLOCK_N):
        key, value, key_real, offs_n, _, _ = _key_block(
            K, V, KPM, k_base, kpm_base, key_start, key_hi, head_dim, offs_d, HAS_KPM, BLOCK_N
        )
        scores = tl.dot(query, tl.trans(key), input_precision=PRECISION).to(acc_dtype) * scale_log2
        scores = tl.where(key_real[None, :], scores, float("-inf"))
        new_max = tl.maximum(row_max, tl.max(scores, 1))
        safe_max = tl.where(new_max == float("-inf"), 0.0, new_max)  # no real key yet: keep exp2 finite
        probs = tl.exp2(scores - safe_max[:, None])
        rescale = tl.exp2(row_max - safe_max)
        row_sum = row_sum * rescale + tl.sum(probs, 1)
        if DROPOUT:  # the softmax normalises over every key; only the product with V is dropped
            probs = tl.where(_keep(seed, bh, offs_m, offs_n, key_len, threshold), probs, 0.0)
        product = tl.dot(probs.to(V.dtype.element_ty), value, input_precision=PRECISION).to(acc_dtype)
        acc = acc * rescale[:, None] + product
        row_max = new_max

    has_key = row_sum > 0
    row_scale = 1.0 / tl.where(has_key, row_sum, 1.0)
    if DROPOUT:
        row_scale = row_scale * scalar(keep_scale_hi, keep_scale_lo, acc_dtype)
    tl.store(OUT + q_base + q_ptrs, (acc * row_scale[:, None]).to(OUT.dtype.element_ty), mask=q_ok)
    lse = tl.where(has_key, row_max + tl.log2(tl.where(has_key, row_sum, 1.0)), float("inf"))
    tl.store(LSE + bh.to(tl.int64) * query_len + offs_m, lse, mask=offs_m < query_end)


@triton.jit
def _query_rows(
    Q, GRAD_OUT, LSE, DELTA, q_base, lse_base, head_dim, query_start, query_end, offs_d, BLOCK_M: tl.constexpr
):
    """``BLOCK_M`` query rows from ``query_start`` (up to ``query_end``): q, dO, log2-sum-exp, delta."""
    offs_m = query_start + tl.arange(0, BLOCK_M)
    row_ok = offs_m < query_end
    q_ptrs = offs_m[:, None] * head_dim + offs_d[None, :]
    q_ok = row_ok[:, None] & (offs_d[None, :] < head_dim)
    query = tl.load(Q + q_base + q_ptrs, mask=q_ok, other=0.0)
    grad_out = tl.load(GRAD_OUT + q_base + q_ptrs, mask=q_ok, other=0.0)
    lse = tl.load(LSE + lse_base + offs_m, mask=row_ok, other=float("inf"))  # +inf: the row gets p = 0
    delta = tl.load(DELTA + lse_base + offs_m, mask=row_ok, other=0.0)
    return query, grad_out, lse, delta, offs_m, q_ptrs, q_ok


@triton.jit
def _tile_grads(
    query, key, value, grad_out, lse, delta, key_real, offs_m, offs_n, bh, key_len, scale_log2,
    seed, threshold, keep_scale, DROPOUT: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    """One query x key tile of the backward: the probabilities the forward multiplied V by (after dropout)
    and dS = P * (dP - delta), with dP masked and scaled as the forward's dropout was."""
    acc_dtype: tl.constexpr = tl.float64 if query.dtype == tl.float64 else tl.float32
    scores = tl.dot(query, tl.trans(key), input_precision=PRECISION).to(acc_dtype) * scale_log2
    probs = tl.where(key_real[None, :], tl.exp2(scores - lse[:, None]), 0.0)
    grad_probs = tl.dot(grad_out, tl.trans(value), input_precision=PRECISION).to(acc_dtype)
    kept = probs
    if DROPOUT:
        keep = _keep(seed, bh, offs_m, offs_n, key_len, threshold)
        kept = tl.where(keep, probs, 0.0)
        grad_probs = tl.where(keep, grad_probs * keep_scale, 0.0)
    return kept, probs * (grad_probs - delta[:, None])


@triton.jit
def _grad_key_value_block(
    Q, K, V, KPM, GRAD_OUT, LSE, DELTA, GRAD_K, GRAD_V, block, bh, num_heads, query_len, key_len, head_dim,
    query_bounds, key_bounds, scale, seed, threshold, keep_scale,
    PATTERN: tl.constexpr, NUM_SEGMENTS: tl.constexpr, HAS_KPM: tl.constexpr, DROPOUT: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    """dK, dV of one key block: sum over the query rows of every segment paired with its segment."""
    acc_dtype: tl.constexpr = tl.float64 if Q.dtype.element_ty == tl.float64 else tl.float32
    in_dtype: tl.constexpr = Q.dtype.element_ty
    q_base = bh.to(tl.int64) * query_len * head_dim
    k_base = bh.to(tl.int64) * key_len * head_dim
    lse_base = bh.to(tl.int64) * query_len
    key_segment, key_start, key_end = _find_block(block, key_bounds, NUM_SEGMENTS, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    key, value, key_real, offs_n, k_ptrs, k_ok = _key_block(
        K, V, KPM, k_base, (bh // num_heads).to(tl.int64) * key_len, key_start, key_end, head_dim, offs_d,
        HAS_KPM, BLOCK_N,
    )  # fmt: skip
    scale_log2 = scale * LOG2E
    grad_key = tl.zeros((BLOCK_N, BLOCK_D), dtype=acc_dtype)
    grad_value = tl.zeros((BLOCK_N, BLOCK_D), dtype=acc_dtype)
    for segment in tl.static_range(NUM_SEGMENTS):
        query_lo = query_bounds[segment]
        paired = PATTERN[segment] == key_segment
        query_hi = tl.where(paired, query_bounds[segment + 1], query_lo)  # unpaired: no rows
        for query_start in range(query_lo, query_hi, BLOCK_M):
            query, grad_out, lse, delta, offs_m, _, _ = _query_rows(
                Q, GRAD_OUT, LSE, DELTA, q_base, lse_base, head_dim, query_start, query_hi, offs_d, BLOCK_M
            )
            kept, grad_scores = _tile_grads(
                query, key, value, grad_out, lse, delta, key_real, offs_m, offs_n, bh, key_len, scale_log2,
                seed, threshold, keep_scale, DROPOUT, PRECISION,
            )  # fmt: skip
            kept_t, grad_scores_t = tl.trans(kept).to(in_dtype), tl.trans(grad_scores).to(in_dtype)
            grad_value += tl.dot(kept_t, grad_out, input_precision=PRECISION).to(acc_dtype)
            grad_key += tl.dot(grad_scores_t, query, input_precision=PRECISION).to(acc_dtype)
    if DROPOUT:
        grad_value = grad_value * keep_scale
    tl.store(GRAD_K + k_ptrs, (grad_key * scale).to(GRAD_K.dtype.element_ty), mask=k_ok)
    tl.store(GRAD_V + k_ptrs, grad_value.to(GRAD_V.dtype.element_ty), mask=k_ok)


@triton.jit
def _grad_query_block(
    Q, K, V, KPM, GRAD_OUT, LSE, DELTA, GRAD_Q, block, bh, num_heads, query_len, key_len, head_dim,
    query_bounds, key_bounds, scale, seed, threshold, keep_scale,
    PATTERN: tl.constexpr, NUM_SEGMENTS: tl.constexpr, HAS_KPM: tl.constexpr, DROPOUT: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    """dQ of one query block: its row of blocks, exactly the key blocks the forward visited."""
    acc_dtype: tl.constexpr = tl.float64 if Q.dtype.element_ty == tl.float64 else tl.float32
    q_base = bh.to(tl.int64) * query_len * head_dim
    k_base = bh.to(tl.int64) * key_len * head_dim
    kpm_base = (bh // num_heads).to(tl.int64) * key_len
    segment, query_start, query_end = _find_block(block, query_bounds, NUM_SEGMENTS, BLOCK_M)
    key_lo, key_hi = _paired_keys(segment, key_bounds, PATTERN, NUM_SEGMENTS)
    offs_d = tl.arange(0, BLOCK_D)
    query, grad_out, lse, delta, offs_m, q_ptrs, q_ok = _query_rows(
        Q, GRAD_OUT, LSE, DELTA, q_base, bh.to(tl.int64) * query_len, head_dim, query_start, query_end, offs_d,
        BLOCK_M,
    )  # fmt: skip
    scale_log2 = scale * LOG2E
    grad_query = tl.zeros((BLOCK_M, BLOCK_D), dtype=acc_dtype)
    for key_start in range(key_lo, key_hi, BLOCK_N):
        key, value, key_real, offs_n, _, _ = _key_block(
            K, V, KPM, k_base, kpm_base, key_start, key_hi, head_dim, offs_d, HAS_KPM, BLOCK_N
        )
        _, grad_scores = _tile_grads(
            query, key, value, grad_out, lse, delta, key_real, offs_m, offs_n, bh, key_len, scale_log2,
            seed, threshold, keep_scale, DROPOUT, PRECISION,
        )  # fmt: skip
        grad_query += tl.dot(grad_scores.to(key.dtype), key, input_precision=PRECISION).to(acc_dtype)
    tl.store(GRAD_Q + q_base + q_ptrs, (grad_query * scale).to(GRAD_Q.dtype.element_ty), mask=q_ok)


@triton.autotune(
    configs=_configs("interlaced bwd"),
    key=["head_dim", "query_bucket", "key_bucket", "NUM_SEGMENTS", "HAS_KPM", "DROPOUT", "PRECISION"],
    prune_configs_by={"early_config_prune": _prune("interlaced bwd")},
)
@triton.jit(do_not_specialize=_SHAPE_ARGS)
def _interlaced_bwd_kernel(
    Q, K, V, KPM, SEED, GRAD_OUT, LSE, DELTA, GRAD_Q, GRAD_K, GRAD_V,
    query_bounds, key_bounds, num_heads, query_len, key_len, head_dim,
    scale_hi, scale_lo, threshold, keep_scale_hi, keep_scale_lo, query_bucket, key_bucket,
    PATTERN: tl.constexpr, NUM_SEGMENTS: tl.constexpr, HAS_KPM: tl.constexpr, DROPOUT: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    acc_dtype: tl.constexpr = tl.float64 if Q.dtype.element_ty == tl.float64 else tl.float32
    key_blocks = _block_count(key_bounds, NUM_SEGMENTS, BLOCK_N)
    blocks = key_blocks + _block_count(query_bounds, NUM_SEGMENTS, BLOCK_M)
    pid = tl.program_id(0)
    bh = pid // blocks
    block = pid % blocks
    scale = scalar(scale_hi, scale_lo, acc_dtype)
    keep_scale = scalar(keep_scale_hi, keep_scale_lo, acc_dtype)
    seed = 0
    if DROPOUT:
        seed = tl.load(SEED)
    if block < key_blocks:
        _grad_key_value_block(
            Q, K, V, KPM, GRAD_OUT, LSE, DELTA, GRAD_K, GRAD_V, block, bh, num_heads, query_len, key_len, head_dim,
            query_bounds, key_bounds, scale, seed, threshold, keep_scale,
            PATTERN, NUM_SEGMENTS, HAS_KPM, DROPOUT, BLOCK_M, BLOCK_N, BLOCK_D, PRECISION,
        )  # fmt: skip
    else:
        _grad_query_block(
            Q, K, V, KPM, GRAD_OUT, LSE, DELTA, GRAD_Q, block - key_blocks, bh, num_heads, query_len, key_len,
            head_dim, query_bounds, key_bounds, scale, seed, threshold, keep_scale,
            PATTERN, NUM_SEGMENTS, HAS_KPM, DROPOUT, BLOCK_M, BLOCK_N, BLOCK_D, PRECISION,
        )  # fmt: skip


def _bounds(lengths: Sequence[int]) -> tuple[int, ...]:
    bounds = [0]
    for length in lengths:
        bounds.append(bounds[-1] + int(length))
    return tuple(bounds)


def _blocks(bounds: tuple[int, ...], block: int) -> int:
    """The host's count of :func:`_block_count`, for the grid."""
    return sum(-(-(hi - lo) // block) for lo, hi in zip(bounds[:-1], bounds[1:]))


def _launch_arguments(query, key, layout, pattern, query_lengths, scaling, dropout_p):
    """Arguments after the tensors, and constexprs, shared by both kernels."""
    batch, heads, query_len, head_dim = query.shape
    threshold, keep_scale = keep_threshold(dropout_p)
    query_bounds, key_bounds = _bounds(query_lengths), _bounds(layout.segment_lengths)
    scalars = (
        query_bounds, key_bounds, heads, query_len, key.shape[-2], head_dim,
        *split_float(scaling), threshold, *split_float(keep_scale),
        next_block(max(query_lengths, default=1)), next_block(max(layout.segment_lengths, default=1)),
    )  # fmt: skip
    meta = dict(
        PATTERN=tuple(pattern),
        NUM_SEGMENTS=len(pattern),
        HAS_KPM=layout.key_padding_mask is not None,
        DROPOUT=dropout_p > 0.0,
        BLOCK_D=next_block(head_dim),
        PRECISION=dot_precision(query.dtype),
    )
    return scalars, meta


class InterlacedAttentionFunction(torch.autograd.Function):
    """autograd wrapper; query ``[batch, heads, T_q, head_dim]``, key and value ``[batch, heads, T, head_dim]``."""

    @staticmethod
    def forward(ctx, query, key, value, layout, pattern, scaling, dropout_p, query_lengths):
        query, key, value = (t.contiguous() for t in (query, key, value))
        batch, heads, query_len, _ = query.shape
        # the key padding mask is read as it is (bool); placeholders are tensors the kernel never reads
        kpm = query if layout.key_padding_mask is None else layout.key_padding_mask.contiguous()
        seed = draw_seed(query.device) if dropout_p > 0.0 else query
        output = torch.empty_like(query)
        lse = query.new_empty((batch, heads, query_len), dtype=compute_dtype(query.dtype))
        scalars, meta = _launch_arguments(query, key, layout, pattern, query_lengths, scaling, dropout_p)
        query_bounds = scalars[0]

        def grid(config):
            return (_blocks(query_bounds, config["BLOCK_M"]) * batch * heads,)

        if query_len and key.shape[-2]:
            _interlaced_fwd_kernel[grid](query, key, value, kpm, seed, output, lse, *scalars, **meta)
        else:  # no query, or no key at all: every row is empty
            output.zero_()
            lse.fill_(float("inf"))
        ctx.save_for_backward(query, key, value, kpm, seed, output, lse)
        ctx.arguments = (layout, pattern, scaling, dropout_p, query_lengths)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        query, key, value, kpm, seed, output, lse = ctx.saved_tensors
        layout, pattern, scaling, dropout_p, query_lengths = ctx.arguments
        batch, heads = query.shape[:2]
        grad_output = grad_output.contiguous()
        delta = (grad_output.to(lse.dtype) * output.to(lse.dtype)).sum(-1)  # [batch, heads, T_q]
        grad_query, grad_key, grad_value = (torch.empty_like(t) for t in (query, key, value))
        scalars, meta = _launch_arguments(query, key, layout, pattern, query_lengths, scaling, dropout_p)
        query_bounds, key_bounds = scalars[:2]

        def grid(config):
            blocks = _blocks(key_bounds, config["BLOCK_N"]) + _blocks(query_bounds, config["BLOCK_M"])
            return (blocks * batch * heads,)

        if query.shape[-2] and key.shape[-2]:
            _interlaced_bwd_kernel[grid](
                query, key, value, kpm, seed, grad_output, lse, delta, grad_query, grad_key, grad_value,
                *scalars, **meta,
            )  # fmt: skip
        else:
            for grad in (grad_query, grad_key, grad_value):
                grad.zero_()
        return grad_query, grad_key, grad_value, None, None, None, None, None


def interlaced_attention_triton_kernel(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    layout: InterlacedLayout,
    pattern: tuple[int, ...],
    scaling: float,
    dropout_p: float = 0.0,
    query_segment_lengths: Sequence[int] | None = None,
) -> torch.Tensor:
    """The fused kernels (no fallback). Shapes as in ``interlaced_attention``."""
    lengths = layout.segment_lengths
    if query_segment_lengths is not None:
        lengths = tuple(int(n) for n in query_segment_lengths)
    return InterlacedAttentionFunction.apply(
        query, key, value, layout, tuple(pattern), scaling, dropout_p, lengths
    )


def refusal(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, dropout_p: float, needs_grad: bool
) -> tuple[str, str] | None:
    """Why the kernels would not run these inputs here, as ``(warning topic, message)``; None when they do.

    Accepted: head widths up to :data:`MAX_HEAD_DIM` (the value's the same), one floating dtype, dropout
    below 1, sequences whose dropout counters fit 32 bits, and the head widths, dtypes and GPUs for which
    :data:`..triton_limits.FITTING` lists a configuration that compiles without spills and within shared
    memory (forward, and backward when gradients are needed).
    """
    head_dim = query.shape[-1]
    if head_dim > MAX_HEAD_DIM or value.shape[-1] != head_dim:
        return "interlaced_size", (
            f"Triton interlaced attention handles head_dim up to {MAX_HEAD_DIM} (the same for value); got "
            f"head_dim {head_dim} (value {value.shape[-1]}): using sdpa"
        )
    reason = dtype_refusal("interlaced", query, key, value)
    if reason is not None:
        return reason
    if dropout_p >= 1.0 or (dropout_p > 0.0 and query.shape[-2] * key.shape[-2] >= 2**32):
        return "interlaced_dropout", (
            f"Triton interlaced attention draws dropout for p < 1 and fewer than 2^32 query x key entries per "
            f"head; got dropout_p={dropout_p} at {query.shape[-2]} x {key.shape[-2]}: using sdpa"
        )
    shape = (next_block(head_dim), dropout_p > 0.0)
    kernels = ("interlaced fwd", "interlaced bwd") if needs_grad else ("interlaced fwd",)
    missing = [name for name in kernels if not fitting_configs(name, query.device, query.dtype, shape)]
    if missing:
        target = target_name(query.device)
        return f"interlaced_fit_{shape}_{dtype_key(query.dtype)}_{target}", (
            f"Triton interlaced attention at head_dim {head_dim} in {dtype_key(query.dtype)} "
            f"{'with' if dropout_p > 0.0 else 'without'} dropout would spill registers or overflow shared "
            f"memory on {target} ({' and '.join(missing)}; see benchmarks/kernel_resources.py): using sdpa "
            "(bf16 autocast, or float32 matmul precision 'high', runs more shapes in Triton)"
        )
    return None


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
    """The "triton" backend: same contract and numbers as :func:`~.eager.interlaced_attention_eager`
    (dropout: the kernels' own mask, see the module docstring).

    Falls back to sdpa, with a one-time ``UserWarning`` per reason (results unchanged), where
    :func:`refusal` says the kernels do not fit.
    """
    check_device(query)
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (query, key, value))
    reason = refusal(query, key, value, dropout_p, needs_grad)
    if reason is None:
        scaling = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
        try:
            return interlaced_attention_triton_kernel(
                query, key, value, layout, pattern, scaling, dropout_p, query_segment_lengths
            )
        except OutOfResources as error:  # a GPU the limits table does not describe
            warn_once(
                f"interlaced_resources_{query.shape[-1]}_{query.dtype}",
                f"Triton interlaced attention ran out of GPU resources at head_dim {query.shape[-1]} in "
                f"{query.dtype} ({error}): using sdpa",
            )
    else:
        warn_once(*reason)
    return interlaced_attention_sdpa(
        query, key, value, layout, pattern, scaling=scaling, dropout_p=dropout_p,
        query_segment_lengths=query_segment_lengths,
    )  # fmt: skip


def compile_jobs(arch: int, dtype: str, head_dim: int, dropout: bool, pattern=(1, 2, 0)) -> list:
    """What the wrapper can launch for heads of ``head_dim`` (a power of two) in ``dtype`` (a
    :func:`..triton_support.dtype_key` name), with or without dropout, with a key padding mask: both
    kernels in every autotuned configuration, as :class:`..triton_resources.CompileJob` for ``arch``."""
    from ..triton_resources import CompileJob

    element, precision = COMPILE_TYPES[dtype]
    accumulate = "fp64" if element == "fp64" else "fp32"
    tensors = ("Q", "K", "V", "OUT", "GRAD_OUT", "GRAD_Q", "GRAD_K", "GRAD_V")
    signature = {name: f"*{element}" for name in tensors}
    bounds = ("i32",) * (len(pattern) + 1)
    signature.update(
        KPM="*i1", SEED="*i64" if dropout else f"*{element}", LSE=f"*{accumulate}", DELTA=f"*{accumulate}"
    )
    signature.update(query_bounds=bounds, key_bounds=bounds, num_heads="i32", query_len="i32", key_len="i32")
    signature.update(head_dim="i32", scale_hi="fp32", scale_lo="fp32", threshold="i32", keep_scale_hi="fp32")
    signature.update(keep_scale_lo="fp32", query_bucket="i32", key_bucket="i32")
    divisible = (*tensors, "KPM", "SEED", "LSE", "DELTA", *(("head_dim",) if head_dim % 16 == 0 else ()))
    constexprs = dict(
        PATTERN=tuple(pattern), NUM_SEGMENTS=len(pattern), HAS_KPM=True, DROPOUT=dropout, BLOCK_D=head_dim,
        PRECISION=precision,
    )  # fmt: skip
    jobs = []
    for kernel, name in (
        ("interlaced fwd", "_interlaced_fwd_kernel"),
        ("interlaced bwd", "_interlaced_bwd_kernel"),
    ):
        for config in _gpu_configs(kernel):
            label = dict(kernel=kernel, dtype=dtype, shape=(head_dim, dropout), config=_config_key(config))
            jobs.append(
                CompileJob(__name__, name, signature, {**constexprs, **config.kwargs}, arch, config.num_warps,
                           config.num_stages, divisible, label)
            )  # fmt: skip
    return jobs
