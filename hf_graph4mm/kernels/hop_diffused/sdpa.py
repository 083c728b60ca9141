"""Hop-Diffused Attention's "sdpa" backend: the fastest exact form for each graph size.

``A Z`` is one SDPA call with ``Z`` as the value and the adjacency as the boolean mask, so the K
diffusion steps can be K calls ("sdpa-per-hop"): ``A`` is never materialised, memory ``O(N d)``. But
each call recomputes ``q k^T`` and the softmax; for the subgraphs Graph4MM uses (5-128 nodes) ``A``
is small, and forming it once is faster on every device measured (benchmarks/attention.py). So:

* ``nodes <= DENSE_NODES_LIMIT``: "probs-once", one autograd Function (:class:`DiffusedAttention`)
  with a hand-written backward. Written as plain torch ops, autograd spends about as long on
  elementwise passes (the score scale, the mask's backward, the identity and weight terms, the
  zeroing of rows without edges) as on the small batched products; the Function keeps the products,
  edits scores and probabilities in place, and folds the row zeroing into the ``i = 0`` term. Two
  forms, the same numbers:

  - "operator", for graphs with fewer nodes than the value is wide: ``calA = sum_i theta_i P^i``
    formed once by Horner's rule and applied to the value once (``(K-1) N^3 + N^2 d`` multiply-adds
    against ``K N^2 d``), the identity terms put on the diagonal (``N`` entries, not ``N^2``);
  - "hops": ``Z_0 = v``, ``Z_{i+1} = P Z_i``, ``out = sum_i theta_i Z_i`` (the eager reference's order).

* larger graphs: "sdpa-per-hop".

Per batch x head of the Function (``[N, N]`` matrices, ``[N, d]`` value and hops):

    P = softmax(scaling q k^T) over the graph's edges; rows without an edge: 0
    operator  F_{K-1} = theta_K P + theta_{K-1} I;  F_j = P F_{j+1} + theta_j I;  out = F_0 v
              backward: grad_v = F_0^T g;  G_0 = g v^T;  grad_P = sum_j G_j F_{j+1}^T + theta_K G_{K-1},
              G_{j+1} = P^T G_j
    hops      backward: H_K = theta_K g;  H_i = theta_i g + P^T H_{i+1};  grad_P = sum_i H_{i+1} Z_i^T;
              grad_v = H_0
    both      grad_S = softmax backward of grad_P;  grad_q = scaling grad_S k;  grad_k = scaling grad_S^T q

The ``theta_0`` term is kept only on rows with an edge, so such a row's output is zero, as in eager.
:func:`sdpa_path` names the path a shape takes (the benchmark table prints it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..softmax import masked_attention_probs
from .diffusion import diffusion_weights, horner_operator

DENSE_NODES_LIMIT = 512
OPERATOR, HOPS = "operator", "hops"


def dense_form(nodes: int, value_dim: int) -> str:
    """The dense path's form: "operator" for graphs with fewer nodes than the value is wide, else "hops"."""
    return OPERATOR if nodes < value_dim else HOPS


def sdpa_path(nodes: int, head_dim: int | None = None) -> str:
    """Which computation :func:`hop_diffused_attention_sdpa` runs for ``nodes`` nodes and heads ``head_dim`` wide:
    "probs-once (operator)", "probs-once (hops)" or "sdpa-per-hop" (without ``head_dim``: "probs-once", the
    family)."""
    if nodes > DENSE_NODES_LIMIT:
        return "sdpa-per-hop"
    if head_dim is None:
        return "probs-once"
    return f"probs-once ({dense_form(nodes, head_dim)})"


def hop_diffused_attention_sdpa(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    alpha: float,
    num_steps: int,
    scaling: float | None = None,
    row_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.eager.hop_diffused_attention_eager`.

    Args:
        query, key, value: ``[batch, heads, nodes, head_dim]``.
        adjacency: ``[batch, nodes, nodes]`` bool, True where the row node may attend the column node.
        row_mask: ``[batch, nodes]``, ``adjacency.any(-1)`` when the caller has it already (None: computed).

    Returns:
        ``[batch, heads, nodes, head_dim]``, zero on rows with no allowed entry.
    """
    weights = diffusion_weights(alpha, num_steps)
    nodes = query.shape[-2]
    if row_mask is None:
        row_mask = adjacency.any(dim=-1)  # [batch, nodes]
    if nodes <= DENSE_NODES_LIMIT:
        scale = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
        form = dense_form(nodes, value.shape[-1])
        return diffused_attention(query, key, value, adjacency, row_mask, weights, scale, form)

    keep_row = row_mask[:, None, :, None]  # [batch, 1, nodes, 1]
    # SDPA returns NaN for a fully masked row on some GPU paths. Opening such rows to every key keeps
    # it finite; their result is zeroed below after every step, which is what the eager reference
    # computes (an empty row of A is zero), so no padded row leaks into the next hop.
    attn_mask = (adjacency | ~row_mask[:, :, None])[:, None, :, :]  # [batch, 1, nodes, nodes]
    hop_value = value
    output = weights[0] * value
    for theta in weights[1:]:
        hop_value = F.scaled_dot_product_attention(query, key, hop_value, attn_mask=attn_mask, scale=scaling)
        hop_value = torch.where(keep_row, hop_value, torch.zeros_like(hop_value))
        output = output + theta * hop_value
    return torch.where(keep_row, output, torch.zeros_like(output))


class DiffusedAttention(torch.autograd.Function):
    """``calA v``; arguments as in :func:`diffused_attention`. The module docstring gives the math."""

    @staticmethod
    def forward(ctx, query, key, value, adjacency, row_mask, weights, scaling, form):
        batch, heads, nodes, head_dim = query.shape
        value_dim, flat = value.shape[-1], batch * heads
        training = any(ctx.needs_input_grad[:3])
        query_flat = query.contiguous().view(flat, nodes, head_dim)
        key_flat = key.contiguous().view(flat, nodes, head_dim)
        value_flat = value.contiguous().view(flat, nodes, value_dim)
        # autograd records nothing in here, so the shared masked softmax edits its scores in place
        probs = masked_attention_probs(query_flat.view(query.shape), key_flat.view(key.shape), adjacency[:, None], scaling)
        probs = probs.view(flat, nodes, nodes)
        # theta_0 only on rows with an edge: the other rows of P are zero, so their output is too
        keep = row_mask.to(probs.dtype)[:, None, :].expand(batch, heads, nodes).reshape(flat, nodes)
        if form == OPERATOR:
            operator, kept = horner_operator(probs, weights, keep * weights[0])
            output = torch.bmm(operator, value_flat)
            kept = [operator, *kept]
        else:
            output = _hop_term(value_flat, keep, weights, 0)
            kept, hop = [value_flat], value_flat
            for step, theta in enumerate(weights[1:], start=1):
                hop = torch.bmm(probs, hop)
                output.add_(hop, alpha=theta)
                if step < len(weights) - 1 and training:
                    kept.append(hop)
            kept.append(keep)
        if training:  # inference keeps nothing: each hop is freed as soon as the next one exists
            ctx.save_for_backward(query_flat, key_flat, value_flat, probs, *kept)
        ctx.options = (form, weights, scaling, value.shape)
        return output.view(batch, heads, nodes, value_dim)

    @staticmethod
    def backward(ctx, grad_output):
        query_flat, key_flat, value_flat, probs, *kept = ctx.saved_tensors
        form, weights, scaling, value_shape = ctx.options
        grad_flat = grad_output.contiguous().view(value_flat.shape)
        wants_scores = len(weights) > 1 and (ctx.needs_input_grad[0] or ctx.needs_input_grad[1])
        if form == OPERATOR:
            grad_value = torch.bmm(kept[0].transpose(1, 2), grad_flat)
            grad_probs = _operator_grad_probs(probs, kept[1:], grad_flat, value_flat, weights[-1]) if wants_scores else None
        else:
            grad_value, grad_probs = _hops_grads(probs, kept[:-1], kept[-1], grad_flat, weights, wants_scores)
        grad_query = grad_key = None
        if wants_scores:
            grad_scores = torch._softmax_backward_data(grad_probs, probs, -1, probs.dtype)
            if scaling != 1.0:
                grad_scores.mul_(scaling)
            head_shape = value_shape[:-1] + key_flat.shape[-1:]  # [batch, heads, nodes, head_dim]
            if ctx.needs_input_grad[0]:
                grad_query = torch.bmm(grad_scores, key_flat).view(head_shape)
            if ctx.needs_input_grad[1]:
                grad_key = torch.bmm(grad_scores.transpose(1, 2), query_flat).view(head_shape)
        grad_value = grad_value.view(value_shape) if ctx.needs_input_grad[2] else None
        return grad_query, grad_key, grad_value, None, None, None, None, None


def _operator_grad_probs(probs, factors, grad_output, value, last_weight) -> torch.Tensor:
    """``d loss / d P`` of the operator form: Horner's products in reverse (module docstring)."""
    grad_operator = torch.bmm(grad_output, value.transpose(1, 2))
    grad_probs = None
    for factor in reversed(factors):
        if grad_probs is None:
            grad_probs = torch.bmm(grad_operator, factor.transpose(1, 2))
        else:
            grad_probs = torch.baddbmm(grad_probs, grad_operator, factor.transpose(1, 2))
        grad_operator = torch.bmm(probs.transpose(1, 2), grad_operator)
    if grad_probs is None:
        return grad_operator.mul_(last_weight)
    return grad_probs.add_(grad_operator, alpha=last_weight)


def _hop_term(tensor, keep, weights, step) -> torch.Tensor:
    """``theta_step * tensor``, for ``step = 0`` only on the rows with an edge (``keep`` ``[batch * heads, N]``)."""
    return tensor * (keep * weights[0])[:, :, None] if step == 0 else tensor * weights[step]


def _hops_grads(probs, hops, keep, grad_output, weights, wants_probs):
    """``(d loss / d v, d loss / d P or None)`` of the hop form; ``hops`` are ``Z_0..Z_{K-1}``."""
    grad_hop = _hop_term(grad_output, keep, weights, len(weights) - 1)  # H_K
    grad_probs = None
    for step in range(len(weights) - 2, -1, -1):
        if wants_probs:
            if grad_probs is None:
                grad_probs = torch.bmm(grad_hop, hops[step].transpose(1, 2))
            else:
                grad_probs = torch.baddbmm(grad_probs, grad_hop, hops[step].transpose(1, 2))
        grad_hop = torch.bmm(probs.transpose(1, 2), grad_hop).add_(_hop_term(grad_output, keep, weights, step))
    return grad_hop, grad_probs


def diffused_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    row_mask: torch.Tensor,
    weights: list[float],
    scaling: float,
    form: str,
) -> torch.Tensor:
    """``sum_i weights[i] A^i value`` with ``A`` the graph-masked softmax attention; zero on rows without an edge.

    Args:
        query, key: ``[batch, heads, nodes, head_dim]``, any strides.
        value: ``[batch, heads, nodes, value_dim]``, any strides.
        adjacency: ``[batch, nodes, nodes]`` bool, True where the row node may attend the column node.
        row_mask: ``[batch, nodes]`` bool, ``adjacency.any(-1)`` (rows outside it come out zero).
        weights: ``theta_0..theta_K`` (:func:`~.diffusion.diffusion_weights`).
        scaling: the score scale.
        form: "operator" (sum the hops into one ``N x N`` matrix first) or "hops" (K products with the value).

    Returns:
        ``[batch, heads, nodes, value_dim]``, contiguous.
    """
    if form not in (OPERATOR, HOPS):
        raise ValueError(f"form must be {OPERATOR!r} or {HOPS!r}, got {form!r}")
    return DiffusedAttention.apply(query, key, value, adjacency, row_mask, weights, scaling, form)
