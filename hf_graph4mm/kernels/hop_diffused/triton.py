"""Fused Triton kernel for Hop-Diffused Attention, forward and backward.

One program per (batch, head) graph holds the whole subgraph on-chip: it computes the
masked scores, the row softmax ``A`` and the K diffusion steps ``Z_{i+1} = A Z_i`` without
writing ``A`` anywhere. The forward writes the output and, when gradients are needed,
the intermediate hops ``Z_1 .. Z_{K-1}`` (``K N d`` numbers in the inputs' dtype, the size of K
outputs); the backward recomputes ``A`` from q, k and the adjacency, runs the diffusion in reverse
and applies the softmax backward, all in one program per graph again.

Dots run in the inputs' dtype (bf16/fp16 tensor cores, TF32 or exact float32 as torch's float32
matmul precision says, float64) with float32 (float64) accumulators, forward and backward; the
softmax is ``exp2`` with ``log2(e)`` folded into the score scale. Scalars (scale, alpha) are kernel
arguments: a call copies nothing from the host. The number of warps is autotuned per block shape,
dtype and K among the configurations that fit the GPU (:mod:`..triton_limits`).

:func:`hop_diffused_attention_triton`, the backend entry, runs the kernel where it fits and sends the
rest to the sdpa backend (with a one-time ``UserWarning``; results unchanged): graphs over
:data:`MAX_NODES` nodes, heads wider than :data:`MAX_HEAD_DIM`, more than :data:`MAX_STEPS` hops, and
block shapes that would spill registers or overflow shared memory in the inputs' dtype on this GPU.

Backward of ``out = sum_i theta_i Z_i`` with ``Z_i = A Z_{i-1}`` and ``G = d out``:
``dZ_K = theta_K G``, ``dZ_{i-1} = theta_{i-1} G + A^T dZ_i``, ``dA = sum_i dZ_i Z_{i-1}^T``,
``dV = dZ_0``; then ``dS = A * (dA - rowsum(A * dA))`` and ``dQ = scale dS K``, ``dK = scale dS^T Q``.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl
from triton.runtime.errors import OutOfResources

from ..fallback import warn_once
from ..triton_helpers import COMPILE_TYPES, LOG2E, dtype_refusal, scalar
from ..triton_support import (
    check_device,
    dot_precision,
    dtype_key,
    fitting_configs,
    interpreted,
    next_block,
    split_float,
    target_name,
)
from .diffusion import diffusion_weights
from .sdpa import hop_diffused_attention_sdpa

MAX_NODES = 128
MAX_HEAD_DIM = 128
MAX_STEPS = 16  # the hops are unrolled: more would only lengthen the compile
# The autotuned choices of warps per graph block (N x N tiles: more nodes, more warps to hold them);
# which of them fit a block shape, dtype and GPU comes from triton_limits.
WARPS = {16: (2, 4), 32: (4, 8), 64: (4, 8), 128: (8, 16)}


def _gpu_configs(block_n: int | None = None) -> list[triton.Config]:
    """Every configuration (``block_n`` None: for the autotuner, pruned per call) or those for one block."""
    choices = sorted({w for ws in WARPS.values() for w in ws}) if block_n is None else WARPS[block_n]
    return [triton.Config({}, num_warps=warps, num_stages=1) for warps in choices]  # no loop to pipeline


def _configs() -> list[triton.Config]:
    if interpreted():  # one small configuration: the interpreter has no registers to tune for
        return [triton.Config({}, num_warps=4, num_stages=1)]
    return _gpu_configs()


def _prune(kernel: str):
    """Keep the configurations that compile for this GPU without spills (at least one: the entry checked)."""

    def prune(configs, named_args, **kwargs):
        query = named_args["Q"]
        shape = (kwargs["BLOCK_N"], kwargs["BLOCK_D"])
        fitting = {config for config, _ in fitting_configs(kernel, query.device, query.dtype, shape)}
        kept = [
            config
            for config in configs
            if (config.num_warps,) in fitting and config.num_warps in WARPS[shape[0]]
        ]
        return kept or configs[:1]

    return prune


@triton.jit
def _graph_probs(
    Q, K, ADJ, pid, num_heads, num_nodes, head_dim, scale_log2,
    BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    """Load one (batch, head) graph's query and key and compute its attention matrix ``A`` (``probs``)."""
    acc_dtype: tl.constexpr = tl.float64 if Q.dtype.element_ty == tl.float64 else tl.float32
    graph = pid.to(tl.int64) * num_nodes * head_dim  # 64-bit: batch x heads x N x d may pass 2^31
    adjacency = ADJ + (pid // num_heads).to(tl.int64) * num_nodes * num_nodes
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    node_ok = offs_n < num_nodes
    tile = offs_n[:, None] * head_dim + offs_d[None, :]  # within one graph: 32-bit
    tile_ok = node_ok[:, None] & (offs_d[None, :] < head_dim)
    query = tl.load(Q + graph + tile, mask=tile_ok, other=0.0)
    key = tl.load(K + graph + tile, mask=tile_ok, other=0.0)
    edge_ptrs = adjacency + offs_n[:, None] * num_nodes + offs_n[None, :]
    allowed = tl.load(edge_ptrs, mask=node_ok[:, None] & node_ok[None, :], other=0) != 0

    scores = tl.dot(query, tl.trans(key), input_precision=PRECISION).to(acc_dtype) * scale_log2
    scores = tl.where(allowed, scores, float("-inf"))
    row_max = tl.max(scores, 1)
    row_max = tl.where(row_max == float("-inf"), 0.0, row_max)  # empty rows: exp2(-inf) = 0, not NaN
    probs = tl.exp2(scores - row_max[:, None])
    denom = tl.sum(probs, 1)
    row_has_edge = denom > 0
    probs = probs * (1.0 / tl.where(row_has_edge, denom, 1.0))[:, None]
    return query, key, probs, row_has_edge, graph, tile, tile_ok


@triton.autotune(
    configs=_configs(),
    key=["BLOCK_N", "BLOCK_D", "NUM_STEPS", "SAVE_HOPS", "PRECISION"],  # and the tensors' dtypes
    prune_configs_by={"early_config_prune": _prune("hop fwd")},
)
@triton.jit(do_not_specialize=["num_heads", "num_nodes"])
def _hop_diffused_fwd_kernel(
    Q, K, V, ADJ, OUT, HOPS,
    num_heads, num_nodes, head_dim, scale_hi, scale_lo, alpha_hi, alpha_lo,
    NUM_STEPS: tl.constexpr, SAVE_HOPS: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    acc_dtype: tl.constexpr = tl.float64 if Q.dtype.element_ty == tl.float64 else tl.float32
    pid = tl.program_id(0)
    scale_log2 = scalar(scale_hi, scale_lo, acc_dtype) * LOG2E
    alpha = scalar(alpha_hi, alpha_lo, acc_dtype)
    _, _, probs, row_has_edge, graph, tile, tile_ok = _graph_probs(
        Q, K, ADJ, pid, num_heads, num_nodes, head_dim, scale_log2, BLOCK_N, BLOCK_D, PRECISION
    )
    value = tl.load(V + graph + tile, mask=tile_ok, other=0.0)
    probs_in = probs.to(V.dtype.element_ty)
    theta = alpha
    output = theta * value.to(acc_dtype)
    hop = value
    for step in tl.static_range(1, NUM_STEPS + 1):
        product = tl.dot(probs_in, hop, input_precision=PRECISION).to(acc_dtype)
        theta = theta * (1.0 - alpha)
        output += theta * product
        hop = product.to(V.dtype.element_ty)  # what the next product (and the backward) multiplies
        if SAVE_HOPS and step < NUM_STEPS:  # Z_1 .. Z_{K-1}: what the backward needs besides V
            hop_graph = (pid.to(tl.int64) * (NUM_STEPS - 1) + step - 1) * num_nodes * head_dim
            tl.store(HOPS + hop_graph + tile, hop, mask=tile_ok)
    output = tl.where(row_has_edge[:, None], output, 0.0)
    tl.store(OUT + graph + tile, output.to(OUT.dtype.element_ty), mask=tile_ok)


@triton.autotune(
    configs=_configs(),
    key=["BLOCK_N", "BLOCK_D", "NUM_STEPS", "PRECISION"],
    prune_configs_by={"early_config_prune": _prune("hop bwd")},
)
@triton.jit(do_not_specialize=["num_heads", "num_nodes"])
def _hop_diffused_bwd_kernel(
    Q, K, V, ADJ, HOPS, GRAD_OUT, GRAD_Q, GRAD_K, GRAD_V,
    num_heads, num_nodes, head_dim, scale_hi, scale_lo, alpha_hi, alpha_lo,
    NUM_STEPS: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    acc_dtype: tl.constexpr = tl.float64 if Q.dtype.element_ty == tl.float64 else tl.float32
    in_dtype: tl.constexpr = Q.dtype.element_ty
    pid = tl.program_id(0)
    scale = scalar(scale_hi, scale_lo, acc_dtype)
    alpha = scalar(alpha_hi, alpha_lo, acc_dtype)
    query, key, probs, row_has_edge, graph, tile, tile_ok = _graph_probs(
        Q, K, ADJ, pid, num_heads, num_nodes, head_dim, scale * LOG2E, BLOCK_N, BLOCK_D, PRECISION
    )
    grad_out = tl.load(GRAD_OUT + graph + tile, mask=tile_ok, other=0.0).to(acc_dtype)
    grad_out = tl.where(row_has_edge[:, None], grad_out, 0.0)  # those output rows were forced to zero
    probs_t = tl.trans(probs.to(in_dtype))

    theta = alpha
    for _ in tl.static_range(NUM_STEPS):
        theta = theta * (1.0 - alpha)
    grad_hop = theta * grad_out  # dZ_K
    grad_probs = tl.zeros((BLOCK_N, BLOCK_N), dtype=acc_dtype)
    for step in tl.static_range(NUM_STEPS, 0, -1):  # K, K-1, .., 1
        if step == 1:
            previous_hop = tl.load(V + graph + tile, mask=tile_ok, other=0.0)
        else:
            hop_graph = (pid.to(tl.int64) * (NUM_STEPS - 1) + step - 2) * num_nodes * head_dim
            previous_hop = tl.load(HOPS + hop_graph + tile, mask=tile_ok, other=0.0)
        grad_hop_in = grad_hop.to(in_dtype)
        grad_probs += tl.dot(grad_hop_in, tl.trans(previous_hop), input_precision=PRECISION).to(acc_dtype)
        theta = theta / (1.0 - alpha)  # theta_{step - 1}
        grad_hop = theta * grad_out + tl.dot(probs_t, grad_hop_in, input_precision=PRECISION).to(acc_dtype)

    grad_scores = probs * (grad_probs - tl.sum(probs * grad_probs, 1)[:, None])
    grad_scores_in = grad_scores.to(in_dtype)
    grad_query = tl.dot(grad_scores_in, key, input_precision=PRECISION).to(acc_dtype) * scale
    grad_key = tl.dot(tl.trans(grad_scores_in), query, input_precision=PRECISION).to(acc_dtype) * scale
    tl.store(GRAD_Q + graph + tile, grad_query.to(GRAD_Q.dtype.element_ty), mask=tile_ok)
    tl.store(GRAD_K + graph + tile, grad_key.to(GRAD_K.dtype.element_ty), mask=tile_ok)
    tl.store(GRAD_V + graph + tile, grad_hop.to(GRAD_V.dtype.element_ty), mask=tile_ok)


def _launch_arguments(
    query: torch.Tensor, alpha: float, num_steps: int, scaling: float
) -> tuple[tuple, dict]:
    """The scalar arguments and constexprs both kernels take for ``query``'s shape and dtype."""
    _, heads, nodes, head_dim = query.shape
    scalars = (heads, nodes, head_dim, *split_float(scaling), *split_float(alpha))
    meta = dict(
        NUM_STEPS=num_steps,
        BLOCK_N=next_block(nodes),
        BLOCK_D=next_block(head_dim),
        PRECISION=dot_precision(query.dtype),
    )
    return scalars, meta


class HopDiffusedAttentionFunction(torch.autograd.Function):
    """autograd wrapper; inputs ``[batch, heads, nodes, head_dim]``, ``adjacency [batch, nodes, nodes]`` bool."""

    @staticmethod
    def forward(ctx, query, key, value, adjacency, alpha, num_steps, scaling):
        query, key, value, adjacency = (t.contiguous() for t in (query, key, value, adjacency))
        batch, heads, nodes, head_dim = query.shape
        save_hops = any(ctx.needs_input_grad[:3]) and num_steps > 1
        # the hops in the inputs' dtype: what the next product multiplied; a placeholder pointer without them
        hops = query.new_empty((batch, heads, num_steps - 1, nodes, head_dim)) if save_hops else query
        output = torch.empty_like(query)
        scalars, meta = _launch_arguments(query, alpha, num_steps, scaling)
        _hop_diffused_fwd_kernel[(batch * heads,)](
            query, key, value, adjacency, output, hops, *scalars, SAVE_HOPS=save_hops, **meta
        )
        ctx.save_for_backward(query, key, value, adjacency, hops)
        ctx.arguments = (alpha, num_steps, scaling)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        query, key, value, adjacency, hops = ctx.saved_tensors
        alpha, num_steps, scaling = ctx.arguments
        batch, heads = query.shape[:2]
        grad_query, grad_key, grad_value = (torch.empty_like(t) for t in (query, key, value))
        scalars, meta = _launch_arguments(query, alpha, num_steps, scaling)
        try:
            _hop_diffused_bwd_kernel[(batch * heads,)](
                query, key, value, adjacency, hops, grad_output.contiguous(), grad_query, grad_key, grad_value,
                *scalars, **meta,
            )  # fmt: skip
        except OutOfResources as error:  # a GPU the limits table does not describe: recompute with sdpa
            _warn_out_of_resources(query, error)
            grad_query, grad_key, grad_value = _sdpa_grads(
                query, key, value, adjacency, alpha, num_steps, scaling, grad_output
            )
        return grad_query, grad_key, grad_value, None, None, None, None


def _sdpa_grads(query, key, value, adjacency, alpha, num_steps, scaling, grad_output):
    with torch.enable_grad():
        inputs = [t.detach().requires_grad_() for t in (query, key, value)]
        output = hop_diffused_attention_sdpa(*inputs, adjacency, alpha, num_steps, scaling=scaling)
        return torch.autograd.grad(output, inputs, grad_output)


def _warn_out_of_resources(query: torch.Tensor, error: Exception) -> None:
    warn_once(
        f"hop_diffused_resources_{tuple(query.shape[-2:])}_{query.dtype}",
        f"Triton hop-diffused attention ran out of GPU resources at {query.shape[-2]} nodes, head_dim "
        f"{query.shape[-1]} in {query.dtype} ({error}): using sdpa for such graphs",
    )


def fits_on_chip(num_nodes: int, head_dim: int) -> bool:
    """Whether one graph fits the single-program kernel at all (any dtype, any GPU)."""
    return num_nodes <= MAX_NODES and head_dim <= MAX_HEAD_DIM


def refusal(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, num_steps: int, needs_grad: bool
) -> tuple[str, str] | None:
    """Why the kernel would not run these inputs here, as ``(warning topic, message)``; None when it does.

    The shapes, dtypes and GPUs accepted are exactly those :data:`..triton_limits.FITTING` lists with a
    configuration that compiles without spills and within the GPU's shared memory, for the forward and,
    when gradients are needed, the backward.
    """
    nodes, head_dim = query.shape[-2], query.shape[-1]
    if not fits_on_chip(nodes, head_dim) or value.shape[-1] != head_dim:
        return "hop_diffused_size", (
            f"Triton hop-diffused attention handles up to {MAX_NODES} nodes and head_dim {MAX_HEAD_DIM} "
            f"(the same for value); got {nodes} nodes, head_dim {head_dim} (value {value.shape[-1]}): "
            "using sdpa for such graphs"
        )
    if num_steps > MAX_STEPS:
        return "hop_diffused_steps", (
            f"Triton hop-diffused attention unrolls up to {MAX_STEPS} hops, got {num_steps}: using sdpa"
        )
    reason = dtype_refusal("hop_diffused", query, key, value)
    if reason is not None:
        return reason
    shape = (next_block(nodes), next_block(head_dim))
    kernels = ("hop fwd", "hop bwd") if needs_grad else ("hop fwd",)
    missing = [name for name in kernels if not fitting_configs(name, query.device, query.dtype, shape)]
    if missing:
        target = target_name(query.device)
        return f"hop_diffused_fit_{shape}_{dtype_key(query.dtype)}_{target}", (
            f"Triton hop-diffused attention at {nodes} nodes, head_dim {head_dim} in {dtype_key(query.dtype)} "
            f"would spill registers or overflow shared memory on {target} ({' and '.join(missing)}; see "
            "benchmarks/kernel_resources.py): using sdpa for such graphs (bf16 autocast, or float32 matmul "
            "precision 'high', runs more shapes in Triton)"
        )
    return None


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
    diffusion_weights(alpha, num_steps)  # the same argument checks as the other backends
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

    Falls back to sdpa, with a one-time warning per reason, where :func:`refusal` says the kernel does not fit.
    """
    check_device(query)
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (query, key, value))
    reason = refusal(query, key, value, num_steps, needs_grad)
    if reason is None:
        scaling = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
        try:
            return hop_diffused_attention_triton_kernel(
                query, key, value, adjacency, alpha, num_steps, scaling
            )
        except OutOfResources as error:  # a GPU the limits table does not describe
            _warn_out_of_resources(query, error)
    else:
        warn_once(*reason)
    return hop_diffused_attention_sdpa(
        query, key, value, adjacency, alpha, num_steps, scaling=scaling, row_mask=row_mask
    )


def compile_jobs(arch: int, dtype: str, nodes: int, head_dim: int, num_steps: int = 3) -> list:
    """What the wrapper can launch for graphs in blocks of ``nodes`` x ``head_dim`` in ``dtype`` (a
    :func:`..triton_support.dtype_key` name): both kernels in every autotuned configuration, as
    :class:`..triton_resources.CompileJob` for ``arch`` (compiled without a GPU)."""
    from ..triton_resources import CompileJob

    element, precision = COMPILE_TYPES[dtype]
    tensors = ("Q", "K", "V", "OUT", "HOPS", "GRAD_OUT", "GRAD_Q", "GRAD_K", "GRAD_V")
    signature = {name: f"*{element}" for name in tensors}
    signature.update(ADJ="*i1", num_heads="i32", num_nodes="i32", head_dim="i32")
    signature.update(scale_hi="fp32", scale_lo="fp32", alpha_hi="fp32", alpha_lo="fp32")
    divisible = (*tensors, "ADJ", *(("head_dim",) if head_dim % 16 == 0 else ()))
    constexprs = dict(NUM_STEPS=num_steps, BLOCK_N=nodes, BLOCK_D=head_dim, PRECISION=precision)
    jobs = []
    for kernel, name, extra in (
        ("hop fwd", "_hop_diffused_fwd_kernel", dict(SAVE_HOPS=True)),
        ("hop bwd", "_hop_diffused_bwd_kernel", {}),
    ):
        for config in _gpu_configs(nodes):
            label = dict(
                kernel=kernel,
                dtype=dtype,
                shape=(nodes, head_dim),
                config=(config.num_warps,),
                steps=num_steps,
            )
            jobs.append(
                CompileJob(__name__, name, signature, {**constexprs, **extra}, arch, config.num_warps,
                           config.num_stages, divisible, label)
            )  # fmt: skip
    return jobs
