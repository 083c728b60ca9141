"""Random attention inputs with the awkward cases every backend must agree on, and the comparison of a
backend's output and gradients against eager's: for the kernel tests and the GPU checks."""

from __future__ import annotations

import torch

from ..kernels import hop_diffused_attention, interlaced_attention

# (segment lengths, pattern): unequal lengths, length-1 and empty segments, blocks spanning
# several 16-row tiles, every named pattern and one where two query segments share a key segment.
INTERLACED_CASES = [
    ((5, 9, 3), "forward"),
    ((1, 17, 1), "backward"),
    ((20, 1, 13), "self"),
    ((20, 1, 13), "forward"),
    ((0, 4, 6), "backward"),
    ((7, 2, 5), (0, 0, 1)),
]


def random_graphs(batch: int, nodes: int, generator: torch.Generator) -> torch.Tensor:
    """``[batch, nodes, nodes]`` bool adjacency with the awkward cases the backends must agree on.

    Real nodes get self-loops plus random directed edges; in each sample (when there is room)
    node 1 is isolated (self-loop only) and the last node is padding (empty row and column);
    sample 0 also has a row with no entry while other rows still point at that node, so a
    backend that let an empty row's value leak into the next hop would differ from eager.
    """
    adjacency = torch.rand(batch, nodes, nodes, generator=generator) < 0.3
    adjacency |= torch.eye(nodes, dtype=torch.bool)
    if nodes >= 3:
        adjacency[:, 1, :] = False
        adjacency[:, :, 1] = False
        adjacency[:, 1, 1] = True
        adjacency[:, -1, :] = False
        adjacency[:, :, -1] = False
    if nodes >= 4:
        adjacency[0, 2, :] = False
        adjacency[0, 0, 2] = True
    return adjacency


def random_key_padding(
    batch: int, segment_lengths: tuple[int, ...], generator: torch.Generator
) -> torch.Tensor:
    """``[batch, T]`` bool: trailing padding per segment; in sample 0 the second segment is all padding."""
    parts = []
    for length in segment_lengths:
        real = torch.randint(0, length + 1, (batch,), generator=generator)
        parts.append(torch.arange(length)[None, :] < real[:, None])
    mask = torch.cat(parts, dim=1)
    if len(segment_lengths) > 1:
        start = segment_lengths[0]
        mask[0, start : start + segment_lengths[1]] = False
    return mask


def qkv(batch, heads, length, head_dim, dtype, generator, device):
    """Three ``[batch, heads, length, head_dim]`` leaves, drawn on the CPU (same numbers on any device)."""
    return [
        torch.randn(batch, heads, length, head_dim, generator=generator, dtype=dtype)
        .to(device)
        .requires_grad_()
        for _ in range(3)
    ]


def outputs_and_grads(run, implementation, inputs, grad_output):
    output = run(implementation)
    grads = torch.autograd.grad(output, inputs, grad_output, allow_unused=True)
    # with K = 0 hops the output is alpha * value: query and key get no gradient (zero, not None)
    return output, [torch.zeros_like(t) if g is None else g for t, g in zip(inputs, grads)]


def check_backend(run, implementation, inputs, atol, rtol):
    """Output and the gradients of query, key and value of ``implementation`` equal eager's.

    ``run(name)`` computes the attention with backend ``name`` from ``inputs``.
    """
    grad_output = torch.randn(
        inputs[0].shape, generator=torch.Generator().manual_seed(1), dtype=inputs[0].dtype
    ).to(inputs[0].device)
    expected_out, expected_grads = outputs_and_grads(run, "eager", inputs, grad_output)
    assert expected_out.abs().sum() > 0, "degenerate case: the eager output is all zero"
    actual_out, actual_grads = outputs_and_grads(run, implementation, inputs, grad_output)
    torch.testing.assert_close(actual_out, expected_out, atol=atol, rtol=rtol)
    for name, actual, expected in zip(("query", "key", "value"), actual_grads, expected_grads):
        torch.testing.assert_close(actual, expected, atol=atol, rtol=rtol, msg=lambda m, n=name: f"d{n}: {m}")


def check_hop_diffused(
    implementation, batch, heads, nodes, head_dim, num_steps, dtype, atol, rtol, seed=0, device="cpu"
):
    generator = torch.Generator().manual_seed(seed)
    query, key, value = qkv(batch, heads, nodes, head_dim, dtype, generator, device)
    adjacency = random_graphs(batch, nodes, generator).to(device)

    def run(name):
        return hop_diffused_attention(
            query, key, value, adjacency, alpha=0.2, num_steps=num_steps, implementation=name
        )

    check_backend(run, implementation, (query, key, value), atol, rtol)


def check_interlaced(
    implementation,
    batch,
    heads,
    segment_lengths,
    pattern,
    padded,
    head_dim,
    dtype,
    atol,
    rtol,
    seed=0,
    device="cpu",
):
    generator = torch.Generator().manual_seed(seed)
    query, key, value = qkv(batch, heads, sum(segment_lengths), head_dim, dtype, generator, device)
    key_padding_mask = random_key_padding(batch, segment_lengths, generator).to(device) if padded else None

    def run(name):
        return interlaced_attention(
            query, key, value, segment_lengths, pattern, key_padding_mask, implementation=name
        )

    check_backend(run, implementation, (query, key, value), atol, rtol)
