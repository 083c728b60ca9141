"""Hop-Diffused Attention through one ``N x N`` operator, with a hand-written backward.

For graphs with fewer nodes than the head is wide, ``calA = sum_{i=0..K} theta_i A^i`` is cheaper
to form once by Horner's rule and apply to the value once than to take K products with the value
(``(K-1) N^3 + N^2 d`` against ``K N^2 d`` multiply-adds per head). Written as plain torch ops,
autograd spends about as long on elementwise passes (the scale, the mask's backward, the identity
adds, the row zeroing) as on the small batched products themselves. This Function keeps only the
products, edits the scores and operators in place, and puts the identity terms on the diagonal
(``N`` entries, not ``N^2``).

Per batch x head (``[N, N]`` unless noted):

    forward   P = softmax(scaling q k^T) over the graph's edges     rows without an edge: 0
              F_{K-1} = theta_K P + theta_{K-1} I;  F_j = P F_{j+1} + theta_j I  (j = K-2..0)
              F = F_0, whose theta_0 I term is kept only on rows with an edge
              out = F v                                               [N, d]
    backward  grad_v = F^T grad_out;  G_0 = grad_out v^T
              grad_P = sum_j G_j F_{j+1}^T + theta_K G_{K-1},  G_{j+1} = P^T G_j
              grad_S = softmax backward;  grad_q = scaling grad_S k;  grad_k = scaling grad_S^T q

Saved for the backward: q, k, v (contiguous), P, F and the K-1 right factors ``F_{j+1}``.
Same numbers as the eager reference up to rounding (tests/test_kernels_sdpa.py, float64).
"""

from __future__ import annotations

import torch


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


class DiffusedOperatorAttention(torch.autograd.Function):
    """``calA v`` with ``calA`` formed once per batch x head; shapes as in :func:`diffused_operator_attention`."""

    @staticmethod
    def forward(ctx, query, key, value, adjacency, weights, scaling):
        batch, heads, nodes, head_dim = query.shape
        flat = batch * heads
        query_flat = query.contiguous().view(flat, nodes, head_dim)
        key_flat = key.contiguous().view(flat, nodes, head_dim)
        value_flat = value.contiguous().view(flat, nodes, value.shape[-1])

        row_has_edge = adjacency.any(dim=-1)  # [batch, nodes]
        # On CPU a host check is free: skip the mask passes a fully connected or gap-free batch does
        # not need. Elsewhere always take them (no device sync).
        on_cpu = query.device.type == "cpu"
        every_row = on_cpu and bool(row_has_edge.all())
        scores = torch.bmm(query_flat, key_flat.transpose(1, 2)).view(batch, heads, nodes, nodes)
        if scaling != 1.0:
            scores.mul_(scaling)
        if not (on_cpu and bool(adjacency.all())):
            # rows without any edge are opened to every key (finite softmax) and zeroed after it
            opened = adjacency if every_row else adjacency | ~row_has_edge[:, :, None]
            scores.masked_fill_(~opened[:, None], float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        if not every_row:
            probs.masked_fill_(~row_has_edge[:, None, :, None], 0.0)
        probs = probs.view(flat, nodes, nodes)

        # theta_0 I only on rows with an edge: the other rows of P are zero, so their rows of F are too
        keep = row_has_edge.to(probs.dtype)[:, None, :].expand(batch, heads, nodes).reshape(flat, nodes)
        operator, factors = horner_operator(probs, weights, keep * weights[0])
        output = torch.bmm(operator, value_flat)

        ctx.save_for_backward(query_flat, key_flat, value_flat, probs, operator, *factors)
        ctx.shape = (batch, heads, nodes, head_dim, value.shape[-1])
        ctx.num_steps = len(weights) - 1
        ctx.last_weight = weights[-1]
        ctx.scaling = scaling
        return output.view(batch, heads, nodes, value.shape[-1])

    @staticmethod
    def backward(ctx, grad_output):
        query_flat, key_flat, value_flat, probs, operator, *factors = ctx.saved_tensors
        batch, heads, nodes, head_dim, value_dim = ctx.shape
        grad_flat = grad_output.contiguous().view(batch * heads, nodes, value_dim)
        grad_query = grad_key = grad_value = None
        if ctx.needs_input_grad[2]:
            grad_value = torch.bmm(operator.transpose(1, 2), grad_flat).view(batch, heads, nodes, value_dim)
        # with K = 0 the operator is theta_0 I: nothing depends on q or k
        if ctx.num_steps > 0 and (ctx.needs_input_grad[0] or ctx.needs_input_grad[1]):
            grad_scores = _grad_scores(probs, factors, grad_flat, value_flat, ctx.last_weight, ctx.scaling)
            if ctx.needs_input_grad[0]:
                grad_query = torch.bmm(grad_scores, key_flat).view(batch, heads, nodes, head_dim)
            if ctx.needs_input_grad[1]:
                grad_key = torch.bmm(grad_scores.transpose(1, 2), query_flat).view(batch, heads, nodes, head_dim)
        return grad_query, grad_key, grad_value, None, None, None


def _grad_scores(probs, factors, grad_output, value, last_weight, scaling):
    """``d loss / d scores`` ``[batch * heads, N, N]`` (times ``scaling``: the gradient q and k see).

    Horner's products in reverse: ``G_0 = grad_output value^T``; each product ``F_j = P F_{j+1}`` adds
    ``G_j F_{j+1}^T`` to ``grad_P`` and passes ``G_{j+1} = P^T G_j`` on; the first factor
    ``theta_K P + theta_{K-1} I`` adds ``theta_K G_{K-1}``.
    """
    grad_operator = torch.bmm(grad_output, value.transpose(1, 2))
    grad_probs = None
    for factor in reversed(factors):
        if grad_probs is None:
            grad_probs = torch.bmm(grad_operator, factor.transpose(1, 2))
        else:
            grad_probs = torch.baddbmm(grad_probs, grad_operator, factor.transpose(1, 2))
        grad_operator = torch.bmm(probs.transpose(1, 2), grad_operator)
    if grad_probs is None:
        grad_probs = grad_operator.mul_(last_weight)
    else:
        grad_probs.add_(grad_operator, alpha=last_weight)
    grad_scores = torch._softmax_backward_data(grad_probs, probs, -1, probs.dtype)
    return grad_scores.mul_(scaling) if scaling != 1.0 else grad_scores


def diffused_operator_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    adjacency: torch.Tensor,
    weights: list[float],
    scaling: float,
) -> torch.Tensor:
    """``sum_i weights[i] A^i value`` with ``A`` the graph-masked softmax attention; zero on rows without an edge.

    Args:
        query, key: ``[batch, heads, nodes, head_dim]``, any strides.
        value: ``[batch, heads, nodes, value_dim]``, any strides.
        adjacency: ``[batch, nodes, nodes]`` bool, True where the row node may attend the column node.
        weights: ``theta_0..theta_K`` (:func:`~.primitives.diffusion_weights`).
        scaling: the score scale.

    Returns:
        ``[batch, heads, nodes, value_dim]``, contiguous.
    """
    return DiffusedOperatorAttention.apply(query, key, value, adjacency, weights, scaling)
