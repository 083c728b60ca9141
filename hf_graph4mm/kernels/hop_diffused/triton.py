"""Fused Triton kernel for Hop-Diffused Attention, forward and backward.

One program per (batch, head) graph holds the whole subgraph on-chip: it computes the
masked scores, the row softmax ``A`` and the K diffusion steps ``Z_{i+1} = A Z_i`` without
writing ``A`` anywhere. The forward writes the output and, when gradients are needed,
the intermediate hops ``Z_1 .. Z_{K-1}`` (``K N d`` numbers, the size of K outputs);
the backward recomputes ``A`` from q, k and the adjacency, runs the diffusion in reverse
and applies the softmax backward, all in one program per graph again.

Graphs with more than :data:`MAX_NODES` nodes (or heads wider than :data:`MAX_HEAD_DIM`)
do not fit on-chip: :func:`hop_diffused_attention_triton`, the backend entry, sends them to
the sdpa backend (with a one-time ``UserWarning``; results unchanged).

Backward of ``out = sum_i theta_i Z_i`` with ``Z_i = A Z_{i-1}`` and ``G = d out``:
``dZ_K = theta_K G``, ``dZ_{i-1} = theta_{i-1} G + A^T dZ_i``, ``dA = sum_i dZ_i Z_{i-1}^T``,
``dV = dZ_0``; then ``dS = A * (dA - rowsum(A * dA))`` and ``dQ = scale dS K``, ``dK = scale dS^T Q``.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from ..fallback import warn_once
from ..triton_support import check_device, compute_dtype, dot_precision
from .diffusion import diffusion_weights
from .sdpa import hop_diffused_attention_sdpa

MAX_NODES = 128
MAX_HEAD_DIM = 128


@triton.jit
def _load_graph(
    Q,
    K,
    V,
    ADJ,
    COEF,
    pid,
    num_heads,
    num_nodes,
    head_dim,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PRECISION: tl.constexpr,
):
    """Load one (batch, head) graph and recompute its attention matrix ``A`` (``probs``)."""
    batch = pid // num_heads
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    node_ok = offs_n < num_nodes
    tile = pid * num_nodes * head_dim + offs_n[:, None] * head_dim + offs_d[None, :]
    tile_ok = node_ok[:, None] & (offs_d[None, :] < head_dim)
    query = tl.load(Q + tile, mask=tile_ok, other=0.0)
    key = tl.load(K + tile, mask=tile_ok, other=0.0)
    value = tl.load(V + tile, mask=tile_ok, other=0.0)
    adj_ptrs = ADJ + batch * num_nodes * num_nodes + offs_n[:, None] * num_nodes + offs_n[None, :]
    allowed = tl.load(adj_ptrs, mask=node_ok[:, None] & node_ok[None, :], other=0) != 0

    scale = tl.load(COEF)
    scores = tl.dot(query, tl.trans(key), input_precision=PRECISION) * scale
    scores = tl.where(allowed, scores, float("-inf"))
    row_max = tl.max(scores, 1)
    row_max = tl.where(row_max == float("-inf"), 0.0, row_max)  # empty rows: exp(-inf) = 0, not NaN
    probs = tl.exp(scores - row_max[:, None])
    denom = tl.sum(probs, 1)
    row_has_edge = denom > 0
    probs = probs / tl.where(row_has_edge, denom, 1.0)[:, None]
    return query, key, value, probs, row_has_edge, tile, tile_ok, scale


@triton.jit
def _hop_diffused_fwd_kernel(
    Q,
    K,
    V,
    ADJ,
    COEF,
    OUT,
    HOPS,
    num_heads,
    num_nodes,
    head_dim,
    NUM_STEPS: tl.constexpr,
    SAVE_HOPS: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PRECISION: tl.constexpr,
):
    pid = tl.program_id(0)
    _, _, value, probs, row_has_edge, tile, tile_ok, _ = _load_graph(
        Q, K, V, ADJ, COEF, pid, num_heads, num_nodes, head_dim, BLOCK_N, BLOCK_D, PRECISION
    )
    hop = value
    output = tl.load(COEF + 1) * value.to(probs.dtype)
    graph_size = num_nodes * head_dim
    for step in tl.static_range(1, NUM_STEPS + 1):
        hop = tl.dot(probs.to(value.dtype), hop.to(value.dtype), input_precision=PRECISION)
        output += tl.load(COEF + 1 + step) * hop
        if SAVE_HOPS and step < NUM_STEPS:  # Z_1 .. Z_{K-1}: what the backward needs besides V
            hop_offset = (pid * (NUM_STEPS - 1) + step - 1) * graph_size
            tl.store(HOPS + hop_offset + tile - pid * graph_size, hop, mask=tile_ok)
    output = tl.where(row_has_edge[:, None], output, 0.0)
    tl.store(OUT + tile, output.to(OUT.dtype.element_ty), mask=tile_ok)


@triton.jit
def _hop_diffused_bwd_kernel(
    Q,
    K,
    V,
    ADJ,
    COEF,
    HOPS,
    GRAD_OUT,
    GRAD_Q,
    GRAD_K,
    GRAD_V,
    num_heads,
    num_nodes,
    head_dim,
    NUM_STEPS: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    PRECISION: tl.constexpr,
):
    pid = tl.program_id(0)
    query, key, value, probs, row_has_edge, tile, tile_ok, scale = _load_graph(
        Q, K, V, ADJ, COEF, pid, num_heads, num_nodes, head_dim, BLOCK_N, BLOCK_D, PRECISION
    )
    grad_out = tl.load(GRAD_OUT + tile, mask=tile_ok, other=0.0).to(probs.dtype)
    grad_out = tl.where(row_has_edge[:, None], grad_out, 0.0)  # those output rows were forced to zero
    graph_size = num_nodes * head_dim
    probs_t = tl.trans(probs)

    grad_hop = tl.load(COEF + 1 + NUM_STEPS) * grad_out  # dZ_K
    grad_probs = tl.zeros((BLOCK_N, BLOCK_N), dtype=probs.dtype)
    for reverse in tl.static_range(NUM_STEPS):
        step = NUM_STEPS - reverse  # K, K-1, .., 1
        if step == 1:
            previous_hop = value.to(probs.dtype)
        else:
            hop_offset = (pid * (NUM_STEPS - 1) + step - 2) * graph_size
            previous_hop = tl.load(HOPS + hop_offset + tile - pid * graph_size, mask=tile_ok, other=0.0)
        grad_probs += tl.dot(grad_hop, tl.trans(previous_hop), input_precision=PRECISION)
        grad_hop = tl.load(COEF + step) * grad_out + tl.dot(probs_t, grad_hop, input_precision=PRECISION)

    grad_scores = probs * (grad_probs - tl.sum(probs * grad_probs, 1)[:, None])
    grad_query = tl.dot(grad_scores, key.to(probs.dtype), input_precision=PRECISION) * scale
    grad_key = tl.dot(tl.trans(grad_scores), query.to(probs.dtype), input_precision=PRECISION) * scale
    tl.store(GRAD_Q + tile, grad_query.to(GRAD_Q.dtype.element_ty), mask=tile_ok)
    tl.store(GRAD_K + tile, grad_key.to(GRAD_K.dtype.element_ty), mask=tile_ok)
    tl.store(GRAD_V + tile, grad_hop.to(GRAD_V.dtype.element_ty), mask=tile_ok)


def _block(size: int) -> int:
    return max(16, triton.next_power_of_2(size))  # tl.dot needs tiles of at least 16


class HopDiffusedAttentionFunction(torch.autograd.Function):
    """autograd wrapper; inputs ``[batch, heads, nodes, head_dim]``, ``adjacency [batch, nodes, nodes]``."""

    @staticmethod
    def forward(ctx, query, key, value, adjacency, alpha, num_steps, scaling):
        query, key, value = (t.contiguous() for t in (query, key, value))
        adjacency = adjacency.contiguous().to(torch.uint8)
        batch, heads, nodes, head_dim = query.shape
        coefficients = torch.tensor(
            [scaling, *diffusion_weights(alpha, num_steps)],
            dtype=compute_dtype(query.dtype),
            device=query.device,
        )
        save_hops = any(ctx.needs_input_grad[:3]) and num_steps > 1
        hops = query.new_empty(
            (batch, heads, num_steps - 1, nodes, head_dim) if save_hops else (1,),
            dtype=coefficients.dtype,
        )
        output = torch.empty_like(query)
        grid = (batch * heads,)
        meta = dict(
            BLOCK_N=_block(nodes),
            BLOCK_D=_block(head_dim),
            PRECISION=dot_precision(query.dtype),
            num_warps=8 if nodes > 64 else 4,
        )
        _hop_diffused_fwd_kernel[grid](
            query,
            key,
            value,
            adjacency,
            coefficients,
            output,
            hops,
            heads,
            nodes,
            head_dim,
            NUM_STEPS=num_steps,
            SAVE_HOPS=save_hops,
            **meta,
        )
        ctx.save_for_backward(query, key, value, adjacency, coefficients, hops)
        ctx.num_steps = num_steps
        ctx.meta = meta
        return output

    @staticmethod
    def backward(ctx, grad_output):
        query, key, value, adjacency, coefficients, hops = ctx.saved_tensors
        batch, heads, nodes, head_dim = query.shape
        grad_query, grad_key, grad_value = (torch.empty_like(t) for t in (query, key, value))
        _hop_diffused_bwd_kernel[(batch * heads,)](
            query,
            key,
            value,
            adjacency,
            coefficients,
            hops,
            grad_output.contiguous(),
            grad_query,
            grad_key,
            grad_value,
            heads,
            nodes,
            head_dim,
            NUM_STEPS=ctx.num_steps,
            **ctx.meta,
        )
        return grad_query, grad_key, grad_value, None, None, None, None


def fits_on_chip(num_nodes: int, head_dim: int) -> bool:
    """Whether one graph fits the single-program kernel."""
    return num_nodes <= MAX_NODES and head_dim <= MAX_HEAD_DIM


def hop_diffused_attention_triton_kernel(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    alpha: float,
    num_steps: int,
    scaling: float,
) -> torch.Tensor:
    """The fused kernel (no fallback). Shapes as in ``hop_diffused_attention``; ``nodes <= MAX_NODES``."""
    return HopDiffusedAttentionFunction.apply(query, key, value, adjacency, alpha, num_steps, scaling)


def hop_diffused_attention_triton(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    alpha: float,
    num_steps: int,
    scaling: float | None = None,
    row_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The "triton" backend: same contract and numbers as :func:`~.eager.hop_diffused_attention_eager`
    (the kernel finds the rows without an edge itself: ``row_mask`` is only passed on to a fallback).

    Falls back to sdpa for graphs the one-program kernel cannot hold (more than ``MAX_NODES``
    nodes, heads wider than ``MAX_HEAD_DIM``, value heads of another width).
    """
    check_device(query)
    nodes, head_dim = query.shape[-2], query.shape[-1]
    if not fits_on_chip(nodes, head_dim) or value.shape[-1] != head_dim:
        warn_once(
            "hop_diffused_size",
            f"Triton hop-diffused attention handles up to {MAX_NODES} nodes and head_dim {MAX_HEAD_DIM} "
            f"(the same for value); got {nodes} nodes, head_dim {head_dim} (value {value.shape[-1]}): "
            "using sdpa for such graphs",
        )
        return hop_diffused_attention_sdpa(
            query, key, value, adjacency, alpha, num_steps, scaling=scaling, row_mask=row_mask
        )
    scaling = 1.0 / math.sqrt(head_dim) if scaling is None else scaling
    return hop_diffused_attention_triton_kernel(query, key, value, adjacency, alpha, num_steps, scaling)
