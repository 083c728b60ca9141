"""The diffusion series of Hop-Diffused Attention: its weights, and two ways to apply it.

    calA = sum_{i=0..K} theta_i A^i,  theta_i = alpha (1 - alpha)^i

* :func:`diffuse`: ``calA v`` by repeated products (``Z_0 = v``, ``Z_{i+1} = A Z_i``), never a matrix power;
* :func:`horner_operator`: ``calA`` itself by Horner's rule, for graphs smaller than the value is wide.
"""

from __future__ import annotations

import torch


def diffusion_weights(alpha: float, num_steps: int) -> list[float]:
    """theta_i = alpha (1 - alpha)^i for i = 0..K (the truncated personalised-PageRank series)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"diffusion alpha must lie in (0, 1), got {alpha}")
    if num_steps < 0:
        raise ValueError(f"the number of diffusion steps must be >= 0, got {num_steps}")
    return [alpha * (1.0 - alpha) ** step for step in range(num_steps + 1)]


def diffuse(probs: torch.Tensor, value: torch.Tensor, weights: list[float]) -> torch.Tensor:
    """``sum_i weights[i] probs^i value`` by repeated products: probs ``[..., N, N]``, value ``[..., N, d]``."""
    hop_value = value
    output = weights[0] * value
    for theta in weights[1:]:
        hop_value = torch.matmul(probs, hop_value)
        output = output + theta * hop_value
    return output


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
