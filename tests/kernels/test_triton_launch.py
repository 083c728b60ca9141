"""How the Triton entries launch: nothing made from host data per call (so a CUDA graph can capture a step),
64-bit offsets and a grid without the 65,535 limit (the last two need a GPU with room for > 2^31 elements)."""

from __future__ import annotations

import os

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from hf_graph4mm.kernels import hop_diffused_attention, interlaced_attention
from hf_graph4mm.kernels.interlaced import InterlacedLayout
from hf_graph4mm.testing.kernel_cases import random_graphs, random_key_padding

pytest.importorskip("triton")
from hf_graph4mm.kernels.hop_diffused import triton as triton_hop_diffused  # noqa: E402
from hf_graph4mm.kernels.interlaced import triton as triton_interlaced  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
DEVICE = "cpu" if INTERPRETED else "cuda"
needs_gpu = pytest.mark.skipif(INTERPRETED or not torch.cuda.is_available(), reason="needs a CUDA GPU")


class RecordOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


def hop_step(batch=2, nodes=9, dropout_p=0.0):
    generator = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(batch, 2, nodes, 8, generator=generator).to(DEVICE) for _ in range(3))
    adjacency = random_graphs(batch, nodes, generator).to(DEVICE)
    inputs = [t.requires_grad_() for t in (query, key, value)]

    def run():
        output = triton_hop_diffused.hop_diffused_attention_triton(*inputs, adjacency, 0.2, 3)
        output.backward(torch.ones_like(output))
        return output

    return run, inputs


def interlaced_step(dropout_p=0.0):
    lengths = (5, 9, 3)
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.randn(2, 2, 17, 8, generator=generator).to(DEVICE).requires_grad_() for _ in range(3)]
    layout = InterlacedLayout.from_key_padding_mask(
        lengths, random_key_padding(2, lengths, generator).to(DEVICE)
    )

    def run():
        output = triton_interlaced.interlaced_attention_triton(
            *inputs, layout, (1, 2, 0), dropout_p=dropout_p
        )
        output.backward(torch.ones_like(output))
        return output

    return run, inputs


@pytest.mark.parametrize(
    "step", [hop_step, interlaced_step, lambda: interlaced_step(0.1)], ids=["hop", "interlaced", "dropout"]
)
def test_a_call_makes_no_tensor_from_host_data(step):
    """``torch.tensor(...)`` (aten.lift_fresh) in a call would be a host-to-device copy on a GPU, which
    blocks CUDA-graph capture: scalars travel as kernel arguments, the dropout seed is drawn on the device."""
    run, _ = step()
    run()  # first call: whatever is made once (autotuning on a GPU) is made here
    with RecordOps() as recorded:
        run()
    assert not [op for op in recorded.ops if "lift_fresh" in op or "_to_copy" in op], recorded.ops


@needs_gpu
@pytest.mark.parametrize("step", [hop_step, interlaced_step], ids=["hop", "interlaced"])
def test_cuda_graph_captures_forward_and_backward(step):
    run, inputs = step()
    expected = run().detach().clone()  # warm-up: compiles and autotunes outside the capture
    expected_grads = [t.grad.clone() for t in inputs]
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for t in inputs:
            t.grad = None
        run()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    for t in inputs:
        t.grad = None
    with torch.cuda.graph(graph):
        captured = run()
    graph.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(captured, expected)
    for t, grad in zip(inputs, expected_grads):
        torch.testing.assert_close(t.grad, grad)


@needs_gpu
def test_cuda_graph_replays_draw_new_dropout_masks():
    run, _ = interlaced_step(dropout_p=0.5)
    run()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = run()
    graph.replay()
    first = captured.detach().clone()
    graph.replay()
    assert not torch.equal(first, captured), "the seed is drawn inside the graph: each replay draws afresh"


@needs_gpu
@pytest.mark.slow
def test_more_than_2_31_elements_and_65536_batch_heads():
    """bf16 tensors of more than 2^31 elements (64-bit offsets) and, for the interlaced grid, batch x heads =
    65,536 programs of one kind (over the 65,535 limit of a second grid dimension): the last rows are right."""
    free, _ = torch.cuda.mem_get_info()
    if free < 40 * 2**30:
        pytest.skip("needs 40 GiB of free GPU memory")
    with torch.no_grad():
        batch, heads, nodes, head_dim = 2**17 + 64, 8, 32, 64  # more than 2^31 elements per tensor
        query = torch.randn(batch, heads, nodes, head_dim, device="cuda", dtype=torch.bfloat16)
        adjacency = random_graphs(1, nodes, torch.Generator().manual_seed(0)).cuda().expand(batch, -1, -1)
        output = hop_diffused_attention(query, query, query, adjacency, 0.2, 3, implementation="triton")
        tail = slice(batch - 2, batch)
        expected = hop_diffused_attention(
            *(query[tail],) * 3, adjacency[tail], 0.2, 3, implementation="eager"
        )
        torch.testing.assert_close(output[tail].float(), expected.float(), atol=3e-2, rtol=3e-2)
        del query, output

        lengths, batch, heads = (40, 500, 500), 4096, 16  # 4096 x 16 x 1040 x 32 > 2^31
        query = torch.randn(batch, heads, sum(lengths), 32, device="cuda", dtype=torch.bfloat16)
        output = interlaced_attention(query, query, query, lengths, "forward", implementation="triton")
        expected = interlaced_attention(*(query[-1:],) * 3, lengths, "forward", implementation="eager")
        torch.testing.assert_close(output[-1:].float(), expected.float(), atol=3e-2, rtol=3e-2)
