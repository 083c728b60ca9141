"""The Triton kernels' attention-dropout mask, regenerated in torch: Philox4x32-10 as ``tl.philox`` computes it.

The interlaced kernels keep probability ``(b, h, i, j)`` (query row ``i``, key ``j``, ``T`` keys) when

    (philox(seed, counter=(i * T + j mod 2^32, b * H + h, 0, 0))[0] >> 1) >= round(p * 2^31)

and scale kept entries by ``1 / (1 - round(p * 2^31) / 2^31)`` (:func:`keep_threshold`). The seed is drawn
on the device per call (:func:`draw_seed`: one draw from torch's generator, so CUDA-graph replays draw
afresh and a manual seed makes runs repeat). :func:`dropout_keep` builds the same mask in torch, for an
eager reference given the kernel's mask (tests) and for debugging. Imports neither Triton nor the models.
"""

from __future__ import annotations

import torch

_MASK32 = 0xFFFFFFFF
_ROUND_A, _ROUND_B = 0xD2511F53, 0xCD9E8D57
_KEY_A, _KEY_B = 0x9E3779B9, 0xBB67AE85
SEED_BITS = 62  # drawn seeds lie in [0, 2^62): non-negative as an int64


def draw_seed(device) -> torch.Tensor:
    """A ``[1]`` int64 seed on ``device``, drawn from torch's generator for that device (no host copy)."""
    return torch.randint(0, 2**SEED_BITS, (1,), dtype=torch.int64, device=device)


def keep_threshold(p: float) -> tuple[int, float]:
    """``(threshold, keep scale)``: a 31-bit draw ``>= threshold`` keeps its entry, kept entries scale by
    ``keep scale``; ``p`` is rounded to a multiple of ``2^-31`` (``p < 1``)."""
    threshold = round(p * 2**31)
    keep = 1.0 - threshold / 2**31
    return threshold, (1.0 / keep if keep > 0.0 else 0.0)


def _mul_hi_lo(a: torch.Tensor, constant: int) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32 bits of ``a * constant`` for uint32 ``a`` (held in int64) without int64 overflow."""
    high16, low16 = constant >> 16, constant & 0xFFFF
    upper = a * high16  # < 2^48
    lower = a * low16  # < 2^48
    hi = (upper + (lower >> 16)) >> 16
    lo = (((upper & 0xFFFF) << 16) + lower) & _MASK32
    return hi & _MASK32, lo


def philox(seed: int, c0: torch.Tensor, c1: torch.Tensor, rounds: int = 10) -> torch.Tensor:
    """First output word of Philox4x32 (``rounds`` rounds) at counters ``(c0, c1, 0, 0)``, key ``seed``
    (``tl.philox``: low 32 bits first). ``c0``, ``c1``: int64 tensors holding uint32 values; returns int64."""
    k0, k1 = seed & _MASK32, (seed >> 32) & _MASK32
    c0, c1 = c0 & _MASK32, c1 & _MASK32
    c2 = torch.zeros_like(c0)
    c3 = torch.zeros_like(c0)
    for _ in range(rounds):
        hi_b, lo_b = _mul_hi_lo(c2, _ROUND_B)
        hi_a, lo_a = _mul_hi_lo(c0, _ROUND_A)
        c0, c1, c2, c3 = hi_b ^ c1 ^ k0, lo_b, hi_a ^ c3 ^ k1, lo_a
        k0, k1 = (k0 + _KEY_A) & _MASK32, (k1 + _KEY_B) & _MASK32
    return c0


def dropout_keep(seed: int, batch_heads: int, query_len: int, key_len: int, p: float) -> torch.Tensor:
    """The kernels' keep mask ``[batch * heads, T_q, T]`` (bool) for ``seed`` (an int or a one-element tensor)."""
    seed = int(seed)
    threshold, _ = keep_threshold(p)
    rows = torch.arange(query_len, dtype=torch.int64)[:, None]
    counter = (rows * key_len + torch.arange(key_len, dtype=torch.int64)[None, :]) & _MASK32
    heads = torch.arange(batch_heads, dtype=torch.int64)[:, None, None]
    bits = philox(seed, counter.expand(batch_heads, -1, -1), heads.expand(-1, query_len, key_len))
    return (bits >> 1) >= threshold
