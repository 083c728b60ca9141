"""Every backend against closed forms worked out by hand (independent of the eager code).

With all keys equal (here zero) the softmax over any allowed set is uniform, so:
* hop-diffused on a complete graph: ``A v = mean(v)`` and ``A^i v = mean(v)`` for i >= 1, so
  ``out = alpha v + ((1 - alpha) - (1 - alpha)^(K+1)) mean(v)``;
* hop-diffused on self-loops only: ``A = I``, so ``out = (1 - (1 - alpha)^(K+1)) v``;
* interlaced: each query row gets the mean of the real values of its paired segment.
"""

from __future__ import annotations

import os

import pytest
import torch

from hf_graph4mm.kernels import hop_diffused_attention, interlaced_attention

BACKENDS = ["eager", "sdpa"]
try:
    import triton  # noqa: F401

    BACKENDS.append("triton")
except ImportError:  # the triton backend cannot exist without it; the other two still run
    pass
DEVICE = "cuda" if torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1" else "cpu"
ALPHA, STEPS = 0.25, 3


@pytest.mark.parametrize("implementation", BACKENDS)
def test_hop_diffused_complete_graph_and_self_loops(implementation):
    value = torch.randn(2, 2, 6, 4, dtype=torch.float64, device=DEVICE)
    key = torch.zeros_like(value)
    query = torch.randn_like(value)
    complete = torch.ones(2, 6, 6, dtype=torch.bool, device=DEVICE)
    out = hop_diffused_attention(query, key, value, complete, ALPHA, STEPS, implementation=implementation)
    expected = ALPHA * value + ((1 - ALPHA) - (1 - ALPHA) ** (STEPS + 1)) * value.mean(dim=-2, keepdim=True)
    torch.testing.assert_close(out, expected)

    self_loops = torch.eye(6, dtype=torch.bool, device=DEVICE).expand(2, 6, 6)
    out = hop_diffused_attention(query, key, value, self_loops, ALPHA, STEPS, implementation=implementation)
    torch.testing.assert_close(out, (1 - (1 - ALPHA) ** (STEPS + 1)) * value)


@pytest.mark.parametrize("implementation", BACKENDS)
def test_interlaced_uniform_attention_is_the_mean_of_the_paired_real_values(implementation):
    lengths = (3, 5, 2)
    value = torch.randn(1, 2, sum(lengths), 4, dtype=torch.float64, device=DEVICE)
    key = torch.zeros_like(value)
    query = torch.randn_like(value)
    real = torch.ones(1, sum(lengths), dtype=torch.bool, device=DEVICE)
    real[0, 3 + 3 :] = False  # vision keeps 3 of its 5 steps; audio is all padding
    out = interlaced_attention(query, key, value, lengths, "forward", real, implementation=implementation)
    text_expected = value[:, :, 3:6].mean(dim=-2, keepdim=True)  # text -> the 3 real vision steps
    torch.testing.assert_close(out[:, :, :3], text_expected.expand(-1, -1, 3, -1))
    torch.testing.assert_close(out[:, :, 3:8], torch.zeros_like(out[:, :, 3:8]))  # vision -> padded audio
    audio_expected = value[:, :, :3].mean(dim=-2, keepdim=True)  # audio -> all of text
    torch.testing.assert_close(out[:, :, 8:], audio_expected.expand(-1, -1, 2, -1))
