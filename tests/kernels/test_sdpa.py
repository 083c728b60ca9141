"""The "sdpa" backends give eager's outputs and gradients (float64), and never build what eager builds."""

from __future__ import annotations

import pytest
import torch

from hf_graph4mm.kernels import InterlacedLayout, interlaced_attention, interlaced_attention_sdpa
from hf_graph4mm.kernels.interlaced import sdpa as interlaced_sdpa_module
from hf_graph4mm.kernels.interlaced.sdpa import segment_pair_path
from hf_graph4mm.testing.kernel_cases import INTERLACED_CASES, check_hop_diffused, check_interlaced


@pytest.mark.parametrize("nodes", [1, 7, 64, 128])
@pytest.mark.parametrize(("batch", "heads", "num_steps"), [(1, 1, 2), (3, 4, 5), (2, 2, 0)])
def test_hop_diffused_sdpa_matches_eager(batch, heads, nodes, num_steps):
    check_hop_diffused("sdpa", batch, heads, nodes, 8, num_steps, torch.float64, atol=1e-10, rtol=1e-10)


def test_hop_diffused_sdpa_float32():
    check_hop_diffused("sdpa", 2, 2, 33, 16, 3, torch.float32, atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize(("segment_lengths", "pattern"), INTERLACED_CASES)
@pytest.mark.parametrize("padded", [False, True])
def test_interlaced_sdpa_matches_eager(segment_lengths, pattern, padded):
    check_interlaced("sdpa", 2, 3, segment_lengths, pattern, padded, 8, torch.float64, atol=1e-10, rtol=1e-10)


def test_interlaced_sdpa_float32_batch_heads():
    check_interlaced("sdpa", 5, 4, (46, 50, 37), "self", True, 32, torch.float32, atol=2e-5, rtol=2e-5)


def test_interlaced_sdpa_never_sees_a_full_length_sequence(monkeypatch):
    """One SDPA call per (query segment, key segment) pair, each on that pair's slices only."""
    calls = []
    original = torch.nn.functional.scaled_dot_product_attention

    def spy(query, key, value, **kwargs):
        calls.append((query.shape[-2], key.shape[-2]))
        return original(query, key, value, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    query = torch.randn(1, 2, 6 + 4 + 3, 8)
    interlaced_attention(query, query, query, (6, 4, 3), "forward", implementation="sdpa")
    assert calls == [(6, 4), (4, 3), (3, 6)]


def test_interlaced_sdpa_with_dropout_on_cpu_runs_explicit_blocks_on_each_pairs_slices(monkeypatch):
    """CPU + attention dropout: every block runs scores, softmax, dropout, matmul on its own slices (never SDPA's
    math path, never the full length); without dropout SDPA runs; on CUDA SDPA always runs."""
    cpu = torch.device("cpu")
    assert segment_pair_path(cpu, 0.1) == "explicit"
    assert segment_pair_path(cpu, 0.0) == "sdpa"
    assert segment_pair_path(cpu, 0.0, grad=True) == "autograd"
    assert segment_pair_path(cpu, 0.1, grad=True) == "explicit"
    assert segment_pair_path(torch.device("cuda"), 0.0, grad=True) == "sdpa"
    assert segment_pair_path(torch.device("cuda"), 0.1) == "sdpa"
    blocks, fused = [], []
    original_block, original_sdpa = (
        interlaced_sdpa_module.dropped_attention,
        torch.nn.functional.scaled_dot_product_attention,
    )

    def block_spy(query, key, *args, **kwargs):
        blocks.append((query.shape[-2], key.shape[-2]))
        return original_block(query, key, *args, **kwargs)

    def sdpa_spy(query, key, value, **kwargs):
        fused.append((query.shape[-2], key.shape[-2]))
        return original_sdpa(query, key, value, **kwargs)

    monkeypatch.setattr(interlaced_sdpa_module, "dropped_attention", block_spy)
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", sdpa_spy)
    generator = torch.Generator().manual_seed(0)
    query, key, value = (
        torch.randn(2, 2, 6 + 4 + 7, 8, dtype=torch.float64, generator=generator) for _ in range(3)
    )
    mask = torch.rand(2, 17, generator=generator) > 0.3
    mask[:, [0, 6, 10]] = True
    lengths = (6, 4, 7)
    interlaced_attention(query, key, value, lengths, "forward", mask, implementation="sdpa", dropout_p=0.2)
    assert blocks == [(6, 4), (4, 7), (7, 6)] and fused == []
    interlaced_attention(query, key, value, lengths, "forward", mask, implementation="sdpa")
    assert fused == [(6, 4), (4, 7), (7, 6)]


def test_interlaced_sdpa_dropout_is_unbiased_attention_dropout():
    """With dropout the result differs per draw but averages to the dropout-free result.

    Dropout(p) on the probabilities scales kept entries by 1/(1-p), so the mean over many
    independent draws (here: many copies of the same sample) converges to the p = 0 output.
    """
    generator = torch.Generator().manual_seed(0)
    copies, lengths = 4000, (3, 4, 2)
    query, key, value = (torch.randn(1, 1, 9, 4, generator=generator, dtype=torch.float64) for _ in range(3))
    expand = [t.expand(copies, -1, -1, -1) for t in (query, key, value)]
    torch.manual_seed(0)
    layout = InterlacedLayout(lengths)
    dropped = interlaced_attention_sdpa(*expand, layout, (1, 2, 0), dropout_p=0.3)
    exact = interlaced_attention_sdpa(query, key, value, layout, (1, 2, 0))
    assert not torch.allclose(dropped[0], exact[0])
    spread = dropped.std(dim=0) / copies**0.5
    assert ((dropped.mean(dim=0) - exact[0]).abs() <= 5 * spread + 1e-12).all()


@pytest.mark.parametrize("implementation", ["eager", "sdpa", "flex_attention"])
@pytest.mark.parametrize("pattern", ["forward", "self"])
def test_a_query_subset_gives_those_rows_of_the_full_result(implementation, pattern):
    """``query_segment_lengths``: only some queries per segment (a classifier head's last steps), the same
    keys; each output row equals that query's row of the full computation (float64, with padding)."""
    generator = torch.Generator().manual_seed(7)
    lengths = (5, 8, 6)
    query, key, value = (torch.randn(3, 2, 19, 8, dtype=torch.float64, generator=generator) for _ in range(3))
    mask = torch.rand(3, 19, generator=generator) > 0.3
    mask[:, [0, 5, 13]] = True
    full = interlaced_attention(query, key, value, lengths, pattern, mask, implementation="eager")
    picked = torch.tensor([4, 5, 7, 18])
    query_lengths = (1, 2, 1)  # position 4 (segment 0), 5 and 7 (segment 1), 18 (segment 2)
    with torch.no_grad():  # flex_attention runs on CPU without gradients
        got = interlaced_attention(
            query[:, :, picked],
            key,
            value,
            lengths,
            pattern,
            mask,
            implementation=implementation,
            query_segment_lengths=query_lengths,
        )
    torch.testing.assert_close(got, full[:, :, picked], rtol=1e-10, atol=1e-10)


def test_query_segment_lengths_are_checked():
    query = torch.randn(1, 1, 9, 4)
    with pytest.raises(ValueError, match="one length >= 0 for each of the 3 segments"):
        interlaced_attention(query[:, :, :2], query, query, (3, 4, 2), "self", query_segment_lengths=(1, 1))
    with pytest.raises(ValueError, match=r"does not equal the sum 3 / 9"):
        interlaced_attention(
            query[:, :, :2], query, query, (3, 4, 2), "self", query_segment_lengths=(1, 1, 1)
        )


def _operator_inputs(batch, heads, nodes, head_dim, generator):
    """q and k as head views of one fused projection ``[batch, nodes, 2 * heads * head_dim]`` (the layout the
    Graph4MM module hands over: neither is contiguous), value as a head view of the node states."""
    fused = torch.randn(batch, nodes, 2 * heads * head_dim, dtype=torch.float64, generator=generator)
    states = torch.randn(batch, nodes, heads * head_dim, dtype=torch.float64, generator=generator)
    fused.requires_grad_()
    states.requires_grad_()
    query, key = (part.view(batch, nodes, heads, head_dim).transpose(1, 2) for part in fused.chunk(2, dim=-1))
    value = states.view(batch, nodes, heads, head_dim).transpose(1, 2)
    return fused, states, query, key, value


@pytest.mark.parametrize("graph", ["complete", "self-loops everywhere", "padded"])
@pytest.mark.parametrize("num_steps", [0, 1, 3])
@pytest.mark.parametrize(("nodes", "path"), [(6, "probs-once (operator)"), (9, "probs-once (hops)")])
def test_hop_diffused_sdpa_paths_on_strided_heads_match_eager(graph, num_steps, nodes, path):
    """The hand-written backward of both dense forms on the module's strided layout, for graphs that take each
    of the mask branches (no mask at all, no empty row, empty rows), against eager's autograd, float64."""
    from hf_graph4mm.kernels import hop_diffused_attention
    from hf_graph4mm.kernels.hop_diffused.sdpa import sdpa_path

    generator = torch.Generator().manual_seed(3)
    batch, heads, head_dim = 3, 2, 8
    assert sdpa_path(nodes, head_dim) == path
    adjacency = torch.ones(batch, nodes, nodes, dtype=torch.bool)
    if graph != "complete":
        adjacency = (torch.rand(batch, nodes, nodes, generator=generator) < 0.4) | torch.eye(
            nodes, dtype=torch.bool
        )
    if graph == "padded":
        adjacency[1, -2:, :] = False
        adjacency[1, :, -2:] = False
    grad_output = torch.randn(batch, heads, nodes, head_dim, dtype=torch.float64, generator=generator)
    results = {}
    for name in ("eager", "sdpa"):
        fused, states, query, key, value = _operator_inputs(
            batch, heads, nodes, head_dim, torch.Generator().manual_seed(4)
        )
        output = hop_diffused_attention(
            query, key, value, adjacency, 0.15, num_steps, implementation=name, scaling=0.3
        )
        grads = torch.autograd.grad(output, (fused, states), grad_output, materialize_grads=True)
        results[name] = (output, *grads)
    for actual, expected in zip(results["sdpa"], results["eager"]):
        torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-12)
    if graph == "padded":
        assert results["sdpa"][0][1, :, -2:].abs().max() == 0


@pytest.mark.parametrize("form", ["operator", "hops"])
def test_hop_diffused_function_gradcheck_and_value_only_gradients(form):
    """torch.autograd.gradcheck (finite differences) of the Function; with only the value trainable, q and k
    get no gradient and the value's equals eager's."""
    from hf_graph4mm.kernels.hop_diffused import diffusion_weights, hop_diffused_attention_eager
    from hf_graph4mm.kernels.hop_diffused.sdpa import diffused_attention

    generator = torch.Generator().manual_seed(5)
    adjacency = (torch.rand(2, 5, 5, generator=generator) < 0.5) | torch.eye(5, dtype=torch.bool)
    adjacency[0, 3] = False
    query, key, value = (
        torch.randn(2, 2, 5, 6, dtype=torch.float64, generator=generator, requires_grad=True)
        for _ in range(3)
    )
    weights = diffusion_weights(0.3, 3)
    assert torch.autograd.gradcheck(
        lambda q, k, v: diffused_attention(q, k, v, adjacency, adjacency.any(-1), weights, 0.5, form),
        (query, key, value),
    )
    query_frozen, key_frozen = query.detach(), key.detach()
    output = diffused_attention(
        query_frozen, key_frozen, value, adjacency, adjacency.any(-1), weights, 0.5, form
    )
    expected = hop_diffused_attention_eager(query_frozen, key_frozen, value, adjacency, 0.3, 3, 0.5)
    torch.testing.assert_close(output, expected, rtol=1e-12, atol=1e-12)
    grad_output = torch.randn(output.shape, dtype=torch.float64, generator=generator)
    torch.testing.assert_close(
        torch.autograd.grad(output, value, grad_output)[0],
        torch.autograd.grad(expected, value, grad_output)[0],
        rtol=1e-12,
        atol=1e-12,
    )
    with pytest.raises(ValueError, match="form must be"):
        diffused_attention(query, key, value, adjacency, adjacency.any(-1), weights, 0.5, "powers")


@pytest.mark.parametrize("pattern", ["forward", "backward", "self"])
def test_the_rows_variant_equals_eager_on_the_real_rows(pattern):
    """sdpa's rows variant (a padded batch on CPU, one block per sample and segment) against the padded eager
    reference, float64, values and gradients, with a sample shorter than the others in every segment."""
    from hf_graph4mm.kernels.interlaced import (
        NAMED_PATTERNS,
        interlaced_attention_eager,
        interlaced_attention_sdpa,
    )

    generator = torch.Generator().manual_seed(3)
    segments, heads, head_dim = (4, 7, 5), 2, 8
    host = [[4, 1, 3], [7, 2, 5], [5, 5, 1]]
    layout = InterlacedLayout.from_lengths(segments, torch.tensor(host), host)
    padded = torch.randn(3, heads, sum(segments), head_dim, 3, dtype=torch.float64, generator=generator)
    query, key, value = (padded[..., i].clone().requires_grad_(True) for i in range(3))
    reference = interlaced_attention_eager(query, key, value, layout, NAMED_PATTERNS[pattern])
    weights = torch.randn(reference.shape, dtype=torch.float64, generator=generator)
    weights = weights * layout.key_padding_mask[:, None, :, None]  # padded queries' outputs are dropped
    (reference * weights).sum().backward()

    def as_rows(tensor):  # [batch, heads, T, d] -> [N, heads, d]
        return layout.pack(tensor.transpose(1, 2).reshape(3, sum(segments), -1)).view(-1, heads, head_dim)

    rows = [as_rows(t.detach()).requires_grad_(True) for t in (query, key, value)]
    got = interlaced_attention_sdpa.rows(*rows, layout, NAMED_PATTERNS[pattern])
    (got * as_rows(weights)).sum().backward()
    torch.testing.assert_close(got, as_rows(reference), rtol=1e-10, atol=1e-12)
    for mine, theirs in zip(rows, (query, key, value)):
        torch.testing.assert_close(mine.grad, as_rows(theirs.grad), rtol=1e-10, atol=1e-12)


def test_the_rows_variant_is_taken_only_where_it_saves_scores():
    from hf_graph4mm.kernels.interlaced.sdpa import ROWS_MIN_SAVING, rows_path_applies

    forward = (1, 2, 0)
    short = [[50] * 4, [100, 10, 10, 10], [100, 10, 10, 10]]
    layout = InterlacedLayout.from_lengths((50, 100, 100), torch.tensor(short), short)
    with torch.no_grad():
        assert rows_path_applies(layout, forward, torch.device("cpu"))
        assert not rows_path_applies(layout, forward, torch.device("meta"))  # CPU only
    # padded / real scores under the forward pattern, counted by hand: 0.3% padding in one vision sample
    full = [[50] * 4, [100, 100, 100, 90], [100, 100, 100, 100]]
    full_layout = InterlacedLayout.from_lengths((50, 100, 100), torch.tensor(full), full)
    padded = 4 * (50 * 100 + 100 * 100 + 100 * 50)
    real = 3 * (50 * 100 + 100 * 100 + 100 * 50) + (50 * 90 + 90 * 100 + 100 * 50)
    assert full_layout.score_entries(forward) == (padded, real)
    assert 1.0 < padded / real < ROWS_MIN_SAVING["inference"]
    with torch.no_grad():  # inference: too little padding to pay for the per-sample blocks
        assert not rows_path_applies(full_layout, forward, torch.device("cpu"))
    assert rows_path_applies(full_layout, forward, torch.device("cpu"))  # training: any padding
    none = [[50] * 4, [100] * 4, [100] * 4]
    assert not rows_path_applies(
        InterlacedLayout.from_lengths((50, 100, 100), torch.tensor(none), none), forward, torch.device("cpu")
    )
    assert (
        InterlacedLayout.from_lengths((50, 100, 100), torch.tensor(short)).blocks is None
    )  # no host lengths
