"""Hop-Diffused Attention on ``torch.nn.functional.scaled_dot_product_attention``.

``A Z`` is exactly one SDPA call with ``Z`` as the value and the adjacency as the boolean
mask, so the K diffusion steps can be K calls, each with the previous hop as its value:
the attention matrix ``A`` is never materialised and no matrix power is ever formed.

But each such call recomputes ``q k^T`` and the softmax. For the subgraphs Graph4MM uses
(5-128 nodes) ``A`` is small, and forming it once then taking K products is faster on
every device we measured (benchmarks/attention.py), so this backend routes by size:

* ``nodes <= DENSE_NODES_LIMIT``: "probs-once" -- one masked softmax, then, when the graph has
  fewer nodes than the head is wide, the K hops summed into one ``N x N`` operator (Horner's
  rule, ``K-1`` small products) applied to the value once, "probs-once (operator)"; otherwise
  K products with the value, "probs-once (hops)". Both are one autograd Function with a
  hand-written backward (:mod:`.hop_diffused_autograd`) and the eager numbers up to rounding;
* larger graphs: "sdpa-per-hop" -- K SDPA calls, memory ``O(N d)`` instead of ``O(N^2)``.

:func:`sdpa_path` names the path a shape takes (the benchmark table prints it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .hop_diffused_autograd import HOPS, OPERATOR, diffused_attention
from .primitives import diffusion_weights

DENSE_NODES_LIMIT = 512


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
) -> torch.Tensor:
    """Same contract and numbers as :func:`~.hop_diffused.hop_diffused_attention_eager`.

    Args:
        query, key, value: ``[batch, heads, nodes, head_dim]``.
        adjacency: ``[batch, nodes, nodes]`` bool, True where the row node may attend the column node.

    Returns:
        ``[batch, heads, nodes, head_dim]``, zero on rows with no allowed entry.
    """
    weights = diffusion_weights(alpha, num_steps)
    nodes = query.shape[-2]
    if nodes <= DENSE_NODES_LIMIT:
        scale = 1.0 / math.sqrt(query.shape[-1]) if scaling is None else scaling
        return diffused_attention(query, key, value, adjacency, weights, scale, dense_form(nodes, value.shape[-1]))

    row_has_edge = adjacency.any(dim=-1)  # [batch, nodes]
    keep_row = row_has_edge[:, None, :, None]  # [batch, 1, nodes, 1]
    # SDPA returns NaN for a fully masked row on some GPU paths. Opening such rows to every key keeps
    # it finite; their result is zeroed below after every step, which is what the eager reference
    # computes (an empty row of A is zero), so no padded row leaks into the next hop.
    attn_mask = (adjacency | ~row_has_edge[:, :, None])[:, None, :, :]  # [batch, 1, nodes, nodes]
    hop_value = value
    output = weights[0] * value
    for theta in weights[1:]:
        hop_value = F.scaled_dot_product_attention(query, key, hop_value, attn_mask=attn_mask, scale=scaling)
        hop_value = torch.where(keep_row, hop_value, torch.zeros_like(hop_value))
        output = output + theta * hop_value
    return torch.where(keep_row, output, torch.zeros_like(output))
