"""Training-mode dropout drawn fast on CPU: masks from 16-bit lanes of 64-bit random words.

torch's CPU generator is serial, so one draw per element (``rand_like``, ``bernoulli_``) costs a
noticeable share of a GsiT training step; four mask entries per random word cost a quarter of that.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

_MASK_LEVELS = 1 << 16
# Below this p the rounding to a multiple of 2^-16 would be > 0.8% of p: draw floats instead.
_MIN_QUANTISED_P = 1.0 / 256


def _draw(shape: tuple[int, ...], p: float, device) -> tuple[torch.Tensor, float, float]:
    """One dropout draw: ``(draws [shape], threshold, keep probability)``; an entry is kept where
    ``draws >= threshold``.

    For ``p >= 1/256`` the draws are 16-bit uniform levels (int16), four from each 64-bit random word,
    and the drop probability is ``p`` rounded to a multiple of ``2^-16``; below, uniform floats and ``p``
    itself. Under ``torch.compile`` uniform floats too: reinterpreting a tensor's storage as another
    dtype does not trace, and the compiler fuses the draw into the kernel that uses it anyway.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must lie in [0, 1], got {p}")
    if p < _MIN_QUANTISED_P or torch.compiler.is_compiling():
        return torch.rand(shape, device=device), p, 1.0 - p
    numel = 1
    for size in shape:
        numel *= size
    dropped_levels = round(p * _MASK_LEVELS)
    words = torch.empty((numel + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None)
    levels = words.view(torch.int16)[:numel].view(shape)  # uniform on [-2^15, 2^15)
    return levels, dropped_levels - _MASK_LEVELS // 2, 1.0 - dropped_levels / _MASK_LEVELS


def dropout_keep(shape: Sequence[int], p: float, device=None) -> tuple[torch.Tensor, float]:
    """Which entries training-mode dropout keeps: ``(keep [shape] bool, keep probability)``.

    For ``p >= 1/256`` the drop probability is ``p`` rounded to a multiple of ``2^-16`` (off by at most
    ``7.6e-6``) and the returned keep probability is the rounded one, so dividing by it keeps the mean
    exact. Smaller ``p`` is drawn from floats, exactly.
    """
    draws, threshold, keep_probability = _draw(tuple(shape), p, device)
    return draws >= threshold, keep_probability


def dropout_mask(
    shape: Sequence[int], p: float, dtype: torch.dtype, device=None, scale: float = 1.0
) -> torch.Tensor:
    """Training-mode dropout as a multiplier: ``0`` with probability ``p``, else ``scale / (1 - p)``
    (``p`` as :func:`dropout_keep` rounds it, from the same draws; the mask's mean is exactly ``scale``).

    Returns:
        ``shape`` tensor of ``dtype``.
    """
    shape = tuple(shape)
    draws, threshold, keep_probability = _draw(shape, p, device)
    if keep_probability == 0.0:
        return torch.zeros(shape, dtype=dtype, device=device)
    mask = torch.empty(shape, dtype=dtype, device=device)
    torch.ge(draws, threshold, out=mask)  # compared straight into the mask's dtype: no bool pass
    return mask.mul_(scale / keep_probability)


def dropout(tensor: torch.Tensor, p: float, scale: float = 1.0) -> torch.Tensor:
    """Training-mode dropout of ``scale * tensor`` (``scale`` folded into the mask: one pass).

    The distribution is :func:`dropout_mask`'s; the mask kept for the backward is one multiplier per element.
    """
    if p == 0.0:
        return tensor if scale == 1.0 else tensor * scale
    return tensor * dropout_mask(tensor.shape, p, tensor.dtype, tensor.device, scale)


def dropout_add(residual: torch.Tensor, tensor: torch.Tensor, p: float) -> torch.Tensor:
    """``residual + dropout(tensor, p)`` in one pass (``addcmul`` with the mask)."""
    if p == 0.0:
        return residual + tensor
    return torch.addcmul(residual, tensor, dropout_mask(tensor.shape, p, tensor.dtype, tensor.device))


