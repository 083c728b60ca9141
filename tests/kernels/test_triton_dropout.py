"""Attention dropout inside the interlaced Triton kernels, and GsiT training through them.

The kernels draw their mask with Philox (``tl.philox``) from a seed drawn on the device per call;
``hf_graph4mm.kernels.philox`` regenerates the same mask in torch. The reference here is eager attention
(an explicit masked softmax per block) multiplied by that mask: outputs and gradients must agree in
float64, for every segment pairing, with key padding, for query subsets (the classifier's keep_rows
path) and through a whole GsiT training step with every dropout on (attention dropout 0.1).
"""

from __future__ import annotations

import copy
import os

import pytest
import torch

from hf_graph4mm import GsiTForSequenceClassification
from hf_graph4mm.kernels import philox
from hf_graph4mm.kernels.interlaced import InterlacedLayout, interlaced_attention_eager, resolve_pattern
from hf_graph4mm.kernels.softmax import masked_attention_probs
from hf_graph4mm.testing import gsit_batch, tiny_gsit_config
from hf_graph4mm.testing.kernel_cases import INTERLACED_CASES, random_key_padding

pytest.importorskip("triton")
import triton  # noqa: E402
import triton.language as tl  # noqa: E402

from hf_graph4mm.kernels.interlaced import triton as triton_interlaced  # noqa: E402
from hf_graph4mm.modeling.gsit.interlaced import InterlacedAttention  # noqa: E402

DEVICE = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
F64 = dict(atol=1e-10, rtol=1e-10)

pytestmark = pytest.mark.usefixtures("fresh_fallback_warnings")


def eager_with_kernel_mask(
    query, key, value, layout, pattern, scaling=None, dropout_p=0.0, query_segment_lengths=None
):
    """Eager interlaced attention that drops exactly what the Triton kernels drop.

    It draws the seed as the Triton entry does (one draw from torch's generator, only with dropout), so
    the rest of a model's random numbers stay in step between the two.
    """
    if dropout_p == 0.0:
        return interlaced_attention_eager(
            query, key, value, layout, pattern, scaling, 0.0, query_segment_lengths
        )
    batch, heads, query_len, head_dim = query.shape
    seed = philox.draw_seed(query.device)
    keep = philox.dropout_keep(seed.item(), batch * heads, query_len, key.shape[-2], dropout_p)
    keep = keep.view(batch, heads, query_len, -1).to(query.device)
    _, keep_scale = philox.keep_threshold(dropout_p)
    scaling = head_dim**-0.5 if scaling is None else scaling
    lengths = layout.segment_lengths
    query_lengths = lengths if query_segment_lengths is None else tuple(query_segment_lengths)
    query_bounds, key_bounds = triton_interlaced._bounds(query_lengths), triton_interlaced._bounds(lengths)
    outputs = []
    for segment, key_segment in enumerate(pattern):
        rows = slice(query_bounds[segment], query_bounds[segment + 1])
        columns = slice(key_bounds[key_segment], key_bounds[key_segment + 1])
        key_mask = layout.segment_key_masks[key_segment]
        allowed = None if key_mask is None else key_mask[:, None, None, :]
        probs = masked_attention_probs(query[:, :, rows], key[:, :, columns], allowed, scaling)
        outputs.append((probs * keep[:, :, rows, columns] * keep_scale) @ value[:, :, columns])
    return torch.cat(outputs, dim=-2)


@triton.jit
def _philox_words(SEED, OUT, c1, BLOCK: tl.constexpr):
    offsets = tl.arange(0, BLOCK)
    zero = offsets * 0
    bits, _, _, _ = tl.philox(tl.load(SEED), offsets * 977 + 12345, zero + c1, zero, zero)
    tl.store(OUT + offsets, bits.to(tl.int64) & 0xFFFFFFFF)


def test_torch_philox_reproduces_tl_philox():
    seed = torch.tensor([0x1234_5678_9ABC_DEF], dtype=torch.int64, device=DEVICE)
    words = torch.empty(64, dtype=torch.int64, device=DEVICE)
    _philox_words[(1,)](seed, words, 7, BLOCK=64)
    counters = torch.arange(64, dtype=torch.int64) * 977 + 12345
    expected = philox.philox(int(seed.item()), counters, torch.full_like(counters, 7))
    assert torch.equal(words.cpu(), expected)


def test_kernel_mask_keeps_one_minus_p_of_the_entries():
    keep = philox.dropout_keep(seed=3, batch_heads=4, query_len=64, key_len=64, p=0.1)
    assert abs(keep.float().mean().item() - 0.9) < 0.01
    threshold, keep_scale = philox.keep_threshold(0.1)
    assert threshold == round(0.1 * 2**31) and keep_scale == pytest.approx(1 / 0.9, rel=1e-9)


def random_inputs(batch, heads, query_len, key_len, head_dim, seed=0):
    generator = torch.Generator().manual_seed(seed)
    shapes = [(batch, heads, query_len, head_dim)] + [(batch, heads, key_len, head_dim)] * 2
    return [
        torch.randn(shape, generator=generator, dtype=torch.float64).to(DEVICE).requires_grad_()
        for shape in shapes
    ]


def assert_matches_reference(layout, pattern, inputs, dropout_p, query_segment_lengths=None):
    outputs = {}
    for name, backend in (
        ("triton", triton_interlaced.interlaced_attention_triton),
        ("eager", eager_with_kernel_mask),
    ):
        torch.manual_seed(11)  # the same seed draw for both
        output = backend(
            *inputs, layout, pattern, dropout_p=dropout_p, query_segment_lengths=query_segment_lengths
        )
        grad_output = torch.randn(
            output.shape, generator=torch.Generator().manual_seed(1), dtype=output.dtype
        )
        outputs[name] = (output, *torch.autograd.grad(output, inputs, grad_output.to(DEVICE)))
    for actual, expected in zip(outputs["triton"], outputs["eager"]):
        torch.testing.assert_close(actual, expected, **F64)


@pytest.mark.parametrize(("segment_lengths", "pattern"), INTERLACED_CASES[:4])
def test_kernel_dropout_matches_eager_given_the_same_mask(segment_lengths, pattern):
    generator = torch.Generator().manual_seed(0)
    layout = InterlacedLayout.from_key_padding_mask(
        segment_lengths, random_key_padding(2, segment_lengths, generator).to(DEVICE)
    )
    total = sum(segment_lengths)
    inputs = random_inputs(2, 2, total, total, 8)
    assert_matches_reference(layout, resolve_pattern(pattern, 3), inputs, dropout_p=0.3)


@pytest.mark.parametrize("dropout_p", [0.0, 0.2])
def test_query_subset_runs_the_kernel_and_matches_eager(dropout_p, monkeypatch):
    """The classifier's keep_rows path: one query per segment against every key (was an sdpa fallback)."""
    launches = []
    original = triton_interlaced.InterlacedAttentionFunction.apply
    monkeypatch.setattr(
        triton_interlaced.InterlacedAttentionFunction,
        "apply",
        lambda *a: launches.append(a[-1]) or original(*a),
    )
    lengths = (5, 9, 20)
    layout = InterlacedLayout.from_key_padding_mask(
        lengths, random_key_padding(3, lengths, torch.Generator().manual_seed(4)).to(DEVICE)
    )
    inputs = random_inputs(3, 2, 3, sum(lengths), 8)
    assert_matches_reference(layout, (1, 2, 0), inputs, dropout_p, query_segment_lengths=(1, 1, 1))
    assert launches == [(1, 1, 1)]


def test_dropout_masks_differ_between_calls_and_repeat_with_the_seed():
    lengths = (4, 6, 3)
    query = torch.randn(1, 2, sum(lengths), 8, device=DEVICE)
    layout = InterlacedLayout(lengths)
    first, second = (
        triton_interlaced.interlaced_attention_triton(query, query, query, layout, (1, 2, 0), dropout_p=0.5)
        for _ in range(2)
    )
    assert not torch.equal(first, second)
    torch.manual_seed(5)
    again = triton_interlaced.interlaced_attention_triton(
        query, query, query, layout, (1, 2, 0), dropout_p=0.5
    )
    torch.manual_seed(5)
    torch.testing.assert_close(
        triton_interlaced.interlaced_attention_triton(query, query, query, layout, (1, 2, 0), dropout_p=0.5),
        again,
    )


def count_kernel_launches(monkeypatch):
    """Record each interlaced kernel launch as (kernel, query rows, dropout)."""
    launches = []

    class Counting:
        def __init__(self, name, kernel):
            self.name, self.kernel = name, kernel

        def __getitem__(self, grid):
            launch = self.kernel[grid]

            def run(*args, **kwargs):
                launches.append((self.name, args[0].shape[-2], kwargs["DROPOUT"]))
                return launch(*args, **kwargs)

            return run

    for name in ("_interlaced_fwd_kernel", "_interlaced_bwd_kernel"):
        monkeypatch.setattr(triton_interlaced, name, Counting(name, getattr(triton_interlaced, name)))
    return launches


def training_step(model, inputs, labels):
    torch.manual_seed(0)  # the same draws for every dropout of both models
    model.zero_grad()
    output = model(**inputs, labels=labels)
    output.loss.backward()
    return output.loss.detach(), {name: p.grad for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.slow  # a whole training step in the interpreter: ~4 s
def test_gsit_training_step_runs_triton_forward_and_backward_and_matches_eager(monkeypatch):
    """Train mode, float64, with every dropout on (attention 0.1, embedding 0.2, activation and residual
    0.1: the config's defaults when issue 29 was written): "triton" runs its kernels for every attention of
    the step, the classifier's query subset and the backward included, and gives eager's loss and gradients
    when eager drops what the kernels drop."""
    config = tiny_gsit_config(
        num_layers=2,
        attention_dropout=0.1,
        embedding_dropout=0.2,
        activation_dropout=0.1,
        residual_dropout=0.1,
    )
    torch.manual_seed(0)
    model = GsiTForSequenceClassification(config).double().to(DEVICE).train()
    reference = copy.deepcopy(model)
    model.set_attn_implementation("triton")
    for module in reference.modules():
        if isinstance(module, InterlacedAttention):
            module.attention_function = eager_with_kernel_mask
    inputs = {k: (v.double() if v.is_floating_point() else v).to(DEVICE) for k, v in gsit_batch().items()}
    labels = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64, device=DEVICE)

    launches = count_kernel_launches(monkeypatch)
    loss, grads = training_step(model, inputs, labels)
    forward = [launch for launch in launches if launch[0] == "_interlaced_fwd_kernel"]
    backward = [launch for launch in launches if launch[0] == "_interlaced_bwd_kernel"]
    assert forward and all(dropout for _, _, dropout in forward), launches
    assert sorted(backward, key=repr) == sorted(
        [("_interlaced_bwd_kernel", rows, dropout) for _, rows, dropout in forward], key=repr
    ), "every attention's backward ran in Triton"
    assert any(rows == 3 for _, rows, _ in forward), "the classifier's one query per modality ran in Triton"

    expected_loss, expected_grads = training_step(reference, inputs, labels)
    torch.testing.assert_close(loss, expected_loss, **F64)
    assert grads.keys() == expected_grads.keys()
    for name in grads:
        torch.testing.assert_close(grads[name], expected_grads[name], **F64, msg=name)
