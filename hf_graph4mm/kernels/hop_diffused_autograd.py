"""Hop-Diffused Attention as one autograd Function with a hand-written backward (the "sdpa" backend's
dense paths).

Written as plain torch ops, autograd spends about as long on elementwise passes (the score scale, the
mask's backward, the identity and weight terms, the zeroing of rows without edges) as on the small
batched products themselves. This Function keeps the products, edits scores and probabilities in
place, and folds the row zeroing into the ``i = 0`` term. Two forms, the same numbers:

* "operator", for graphs with fewer nodes than the value is wide: ``calA = sum_i theta_i P^i`` formed
  once by Horner's rule and applied to the value once (``(K-1) N^3 + N^2 d`` multiply-adds against
  ``K N^2 d``), the identity terms put on the diagonal (``N`` entries, not ``N^2``);
* "hops": ``Z_0 = v``, ``Z_{i+1} = P Z_i``, ``out = sum_i theta_i Z_i`` (the eager reference's order).

Per batch x head (``[N, N]`` matrices, ``[N, d]`` value and hops):

    P = softmax(scaling q k^T) over the graph's edges; rows without an edge: 0
    operator  F_{K-1} = theta_K P + theta_{K-1} I;  F_j = P F_{j+1} + theta_j I;  out = F_0 v
              backward: grad_v = F_0^T g;  G_0 = g v^T;  grad_P = sum_j G_j F_{j+1}^T + theta_K G_{K-1},
              G_{j+1} = P^T G_j
    hops      backward: H_K = theta_K g;  H_i = theta_i g + P^T H_{i+1};  grad_P = sum_i H_{i+1} Z_i^T;
              grad_v = H_0
    both      grad_S = softmax backward of grad_P;  grad_q = scaling grad_S k;  grad_k = scaling grad_S^T q

The ``theta_0`` term is kept only on rows with an edge, so such a row's output is zero, as in eager.
"""

from __future__ import annotations

import torch

from .primitives import masked_attention_probs

OPERATOR, HOPS = "operator", "hops"


def horner_operator(
    probs: torch.Tensor, weights: list[float], last_diagonal: torch.Tensor | float | None = None
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``sum_i weights[i] probs^i`` by Horner's rule: ``(operator, right factors)``.

    Args:
        probs: ``[batch, N, N]``.
        weights: ``theta_0..theta_K``.
        last_diagonal: the ``theta_0 I`` term's diagonal, ``[batch, N]`` or a number (default
            ``weights[0]``): a per-row diagonal removes the ``i = 0`` term from chosen rows.

    Returns:
        The operator ``[batch, N, N]`` (a new tensor) and the right factors ``F_{j+1}`` of the
        K-1 products, in the order they were multiplied.
    """
    diagonal0 = weights[0] if last_diagonal is None else last_diagonal
    num_steps = len(weights) - 1
    if num_steps == 0:
        operator = torch.zeros_like(probs)
        operator.diagonal(dim1=-2, dim2=-1).add_(diagonal0)
        return operator, []
    operator = probs * weights[num_steps]
    factors = []
    for step in range(num_steps - 1, -1, -1):
        if step < num_steps - 1:
            factors.append(operator)
            operator = torch.bmm(probs, operator)
        operator.diagonal(dim1=-2, dim2=-1).add_(diagonal0 if step == 0 else weights[step])
    return operator, factors


class DiffusedAttention(torch.autograd.Function):
    """``calA v``; arguments as in :func:`diffused_attention`."""

    @staticmethod
    def forward(ctx, query, key, value, adjacency, weights, scaling, form):
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
        row_has_edge = adjacency.any(dim=-1)  # [batch, nodes]
        keep = row_has_edge.to(probs.dtype)[:, None, :].expand(batch, heads, nodes).reshape(flat, nodes)
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
        return grad_query, grad_key, grad_value, None, None, None, None


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
    weights: list[float],
    scaling: float,
    form: str,
) -> torch.Tensor:
    """``sum_i weights[i] A^i value`` with ``A`` the graph-masked softmax attention; zero on rows without an edge.

    Args:
        query, key: ``[batch, heads, nodes, head_dim]``, any strides.
        value: ``[batch, heads, nodes, value_dim]``, any strides.
        adjacency: ``[batch, nodes, nodes]`` bool, True where the row node may attend the column node.
        weights: ``theta_0..theta_K`` (:func:`~.primitives.diffusion_weights`).
        scaling: the score scale.
        form: "operator" (sum the hops into one ``N x N`` matrix first) or "hops" (K products with the value).

    Returns:
        ``[batch, heads, nodes, value_dim]``, contiguous.
    """
    if form not in (OPERATOR, HOPS):
        raise ValueError(f"form must be {OPERATOR!r} or {HOPS!r}, got {form!r}")
    return DiffusedAttention.apply(query, key, value, adjacency, weights, scaling, form)
