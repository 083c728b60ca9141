"""Benchmark the attention backends side by side: backend x shape -> time, peak memory, ratios to eager.

    python benchmarks/attention.py                       # CPU: eager vs sdpa, forward, float32
    python benchmarks/attention.py --device cuda --dtypes bfloat16 float32 --modes fwd fwd+bwd
                                                         # GPU: adds triton and flex_attention

Shapes: Graph4MM subgraphs (hop-diffused: batch 8-64, 5-128 nodes, K 2-8, 12 heads of 64)
and GsiT's real lengths after the conv projection (interlaced: MOSI 46/496/371,
MOSEI 46/496/496, batch 8-32, d = 128 in 4 heads; the self pass runs on 2d, so its
heads are 64 wide), with the key padding mask the model passes.

Measurement, all backends of a shape in one process, timed round-robin:
* max abs diff: largest difference of the forward output from eager's on the same inputs.
* time: the fastest of ``--repeats`` rounds after warm-up, each round running every backend
  once (on CUDA between synchronisations): on a shared machine, interference from other jobs
  only ever adds time, so the minimum is the most repeatable estimate, and interleaving puts
  any drift on every backend alike; ``--statistic median`` reports the median instead.
* peak memory, CPU: the largest sum of live bytes allocated by torch during one run,
  replayed from the allocation and free events that ``torch.profiler`` records with
  ``profile_memory=True`` (so: tensors created by the call, not the inputs it was given;
  allocator caching and non-torch memory are not counted). CUDA: the allocator's
  ``max_memory_allocated`` over the run, minus what was allocated before it.
* throughput (CUDA): useful FLOPs only (allowed blocks / graph edges counted densely per
  graph), forward = the matmuls; forward+backward counted as 3.5 x forward for interlaced
  (flash-attention accounting) and 3 x forward for hop-diffused; bandwidth = bytes of the
  inputs read once and the outputs written once (and their gradients) over the time.
  ``--ceilings`` measures the device's copy bandwidth and bf16 matmul rate, and each row gives its
  TFLOP/s and TB/s as a percentage of them.
* path that ran: what computed the row; for "triton", the entry's own rule (``refusal`` in each
  ``kernels/*/triton.py``: sizes, dtype, and the limits table of what compiles without spills) names any
  fallback to sdpa.

Never time Triton kernels in the CPU interpreter: "triton" is only benchmarked on CUDA.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine_state import cuda_ceilings, machine_state  # noqa: E402
from benchmarks.timing import step, time_round_robin  # noqa: E402
from hf_graph4mm.kernels import (  # noqa: E402
    hop_diffused_attention,
    interlaced_attention,
    resolve_pattern,
)
from hf_graph4mm.kernels.hop_diffused.sdpa import sdpa_path  # noqa: E402


def triton_refusal(case: Case, inputs, needs_grad: bool) -> str | None:
    """Why the "triton" entry would send these inputs to sdpa (its own rule: size, dtype, the limits table)."""
    query, key, value = inputs
    if case.nodes is not None:
        from hf_graph4mm.kernels.hop_diffused.triton import refusal

        reason = refusal(query, key, value, 2, needs_grad)
    else:
        from hf_graph4mm.kernels.interlaced.triton import refusal

        reason = refusal(query, key, value, 0.0, needs_grad)
    return None if reason is None else reason[1].split(":")[0]


def path_ran(case: Case, backend: str, device: str, needs_grad: bool, inputs=None) -> str:
    """What actually computed a row: a backend may route a shape to another exact path (documented)."""
    if backend == "flex_attention" and device == "cpu" and needs_grad:
        return "sdpa (flex has no CPU backward)"
    if backend == "triton" and inputs is not None:
        reason = triton_refusal(case, inputs, needs_grad)
        if reason is not None:
            return f"sdpa ({reason})"
    if case.nodes is None:
        return backend
    if backend == "sdpa":
        return f"sdpa: {sdpa_path(case.nodes, case.head_dim)}"
    return backend


def parse_ceilings(line: str) -> tuple[float, float]:
    """``(copy TB/s, bf16 matmul TFLOP/s)`` from :func:`~benchmarks.machine_state.cuda_ceilings`' line."""
    numbers = re.findall(r"([0-9.]+) (?:TB|TFLOP)/s", line)
    return float(numbers[0]), float(numbers[1])


@dataclass
class Case:
    """One benchmark shape: a name, a way to build inputs, and per-backend callables."""

    name: str
    flops_fwd: float
    bytes_fwd: float
    make: Callable  # (backend, dtype, device, needs_grad) -> (run, inputs)
    # hop-diffused graphs: node count and head width (the sdpa backend routes by them)
    nodes: int | None = None
    head_dim: int | None = None


def random_qkv(shape, generator, dtype, device, needs_grad):
    """Query, key, value drawn on the CPU (the same numbers on every device), then moved."""
    return [
        torch.randn(shape, generator=generator).to(device, dtype).requires_grad_(needs_grad) for _ in range(3)
    ]


def hop_case(batch, nodes, num_steps, heads=12, head_dim=64, density=0.3) -> Case:
    def make(backend, dtype, device, needs_grad):
        generator = torch.Generator().manual_seed(0)
        q, k, v = random_qkv((batch, heads, nodes, head_dim), generator, dtype, device, needs_grad)
        adjacency = torch.rand(batch, nodes, nodes, generator=generator) < density
        adjacency = (adjacency | adjacency.transpose(1, 2) | torch.eye(nodes, dtype=torch.bool)).to(device)
        run = lambda: hop_diffused_attention(q, k, v, adjacency, 0.1, num_steps, implementation=backend)  # noqa: E731
        return run, (q, k, v)

    flops = 2.0 * batch * heads * nodes * nodes * head_dim * (1 + num_steps)
    elements = 4 * batch * heads * nodes * head_dim  # q, k, v read; out written
    return Case(f"hop B={batch} N={nodes} K={num_steps}", flops, elements, make, nodes, head_dim)


def interlaced_case(dataset, lengths, batch, pattern, heads=4, model_dim=128) -> Case:
    head_dim = (2 * model_dim if pattern == "self" else model_dim) // heads
    total = sum(lengths)
    pattern_tuple = resolve_pattern(pattern, len(lengths))

    def make(backend, dtype, device, needs_grad):
        generator = torch.Generator().manual_seed(0)
        q, k, v = random_qkv((batch, heads, total, head_dim), generator, dtype, device, needs_grad)
        # each segment right-padded to its own random real length, as the collator does
        real = [
            torch.randint(max(1, length // 2), length + 1, (batch, 1), generator=generator)
            for length in lengths
        ]
        padding = torch.cat([torch.arange(n)[None, :] < r for n, r in zip(lengths, real)], dim=1).to(device)
        run = lambda: interlaced_attention(q, k, v, lengths, pattern, padding, implementation=backend)  # noqa: E731
        return run, (q, k, v)

    allowed = sum(lengths[s] * lengths[p] for s, p in enumerate(pattern_tuple))
    flops = 4.0 * batch * heads * head_dim * allowed
    elements = 4 * batch * heads * total * head_dim
    return Case(f"{dataset} {pattern} B={batch} d_head={head_dim}", flops, elements, make)


def shapes(quick: bool) -> list[Case]:
    mosi, mosei = (46, 496, 371), (46, 496, 496)
    interlaced = [
        interlaced_case("MOSI", mosi, batch, pattern) for batch in (8, 32) for pattern in ("forward", "self")
    ] + [interlaced_case("MOSEI", mosei, 16, pattern) for pattern in ("forward", "self")]
    hop = [
        hop_case(batch, nodes, k) for batch, nodes, k in [(8, 5, 2), (64, 32, 2), (64, 128, 2), (16, 128, 8)]
    ]
    if quick:
        return [interlaced_case("MOSI", mosi, 8, "forward"), hop_case(8, 32, 2)]
    return interlaced + hop


def cpu_peak_bytes(run, inputs, needs_grad) -> int:
    """Peak of live torch CPU allocations during one run, replayed from the profiler's memory events."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step(run, inputs, needs_grad)
    events = sorted(
        (event for event in prof.profiler.kineto_results.events() if event.name() == "[memory]"),
        key=lambda event: event.start_ns(),
    )
    live = peak = 0
    for event in events:
        live += event.nbytes()  # negative for frees
        peak = max(peak, live)
    return peak


def cuda_peak_bytes(run, inputs, needs_grad) -> int:
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step(run, inputs, needs_grad)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--dtypes", nargs="+", default=["float32"], choices=["float32", "bfloat16", "float16"]
    )
    parser.add_argument("--modes", nargs="+", default=["fwd"], choices=["fwd", "fwd+bwd"])
    parser.add_argument(
        "--backends", nargs="+", default=None, help="default: eager sdpa flex_attention (+ triton on cuda)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--statistic", choices=["min", "median"], default="min", help="of the timed repeats")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="two small shapes (smoke test)")
    parser.add_argument(
        "--shapes", nargs="+", default=None, help="only the shapes whose name contains one of these strings"
    )
    parser.add_argument(
        "--cores",
        nargs="+",
        default=["interlaced", "hop"],
        choices=["interlaced", "hop"],
        help="which attention cores",
    )
    parser.add_argument(
        "--ceilings", action="store_true", help="CUDA: measure copy bandwidth and matmul rate"
    )
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    backends = args.backends or (
        ["eager", "sdpa", "triton", "flex_attention"]
        if args.device == "cuda"
        else ["eager", "sdpa", "flex_attention"]
    )
    if args.device == "cpu" and "triton" in backends:
        parser.error("Triton kernels are only timed on CUDA (the CPU interpreter is for correctness only)")
    device_name = (
        torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    )
    print(f"# torch {torch.__version__}, {device_name}")
    if args.device == "cpu":
        print(f"# machine at start: {machine_state()}")
    args.peaks = None
    if args.device == "cuda" and args.ceilings:
        line = cuda_ceilings()
        args.peaks = parse_ceilings(line)
        print("# " + line)

    header = "| shape | dtype | mode | backend | path that ran | max abs diff | time ms | x eager | peak MiB | x eager |"
    if args.device == "cuda":
        header += " TFLOP/s | % matmul ceiling | TB/s | % copy ceiling |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for case in shapes(args.quick):
        if ("hop" if case.nodes is not None else "interlaced") not in args.cores:
            continue
        if args.shapes and not any(part in case.name for part in args.shapes):
            continue
        for dtype_name in args.dtypes:
            dtype = getattr(torch, dtype_name)
            for mode in args.modes:
                for line in case_rows(case, dtype, mode, backends, args):
                    print(line, flush=True)


def case_rows(case: Case, dtype, mode: str, backends: list[str], args) -> list[str]:
    """The table rows of one shape, dtype and mode: every backend, eager first (the ratios' base)."""
    needs_grad = mode == "fwd+bwd"
    dtype_name = str(dtype).removeprefix("torch.")
    lines, runs, measured, paths = [], {}, {}, {}
    reference = None
    for backend in backends:
        try:
            run, inputs = case.make(backend, dtype, args.device, needs_grad)
            paths[backend] = path_ran(case, backend, args.device, needs_grad, inputs)
            with torch.no_grad():
                output = run().float()
            if backend == "eager":
                reference = output
            difference = (output - reference).abs().max().item()  # same inputs: same numbers?
            del output
            peak_fn = cuda_peak_bytes if args.device == "cuda" else cpu_peak_bytes
            measured[backend] = (difference, peak_fn(run, inputs, needs_grad))
            runs[backend] = (run, inputs, needs_grad)
        except Exception as error:  # report and go on: one backend failing must not hide the rest
            lines.append(
                f"| {case.name} | {dtype_name} | {mode} | {backend} | failed: {type(error).__name__}: {str(error).splitlines()[0][:120]} |"
            )
    seconds = time_round_robin(runs, args.device, args.repeats, args.statistic)
    eager = (seconds["eager"], measured["eager"][1]) if "eager" in runs else None
    for backend in runs:
        difference, peak = measured[backend]
        speedup = f"{eager[0] / seconds[backend]:.2f}" if eager else "-"
        saving = f"{eager[1] / max(peak, 1):.1f}" if eager else "-"
        row = (
            f"| {case.name} | {dtype_name} | {mode} | {backend} | {paths[backend]} "
            f"| {difference:.1e} | {seconds[backend] * 1e3:.2f} "
            f"| {speedup} | {peak / 2**20:.1f} | {saving} |"
        )
        if args.device == "cuda":
            factor = (3.5 if case.name.startswith(("MOSI", "MOSEI")) else 3.0) if needs_grad else 1.0
            moved = case.bytes_fwd * dtype.itemsize * (2 if needs_grad else 1)
            tflops, tbps = case.flops_fwd * factor / seconds[backend] / 1e12, moved / seconds[backend] / 1e12
            copy_peak, matmul_peak = args.peaks or (float("nan"), float("nan"))
            row += f" {tflops:.1f} | {100 * tflops / matmul_peak:.0f} | {tbps:.2f} | {100 * tbps / copy_peak:.0f} |"
        lines.append(row)
    return lines


if __name__ == "__main__":
    main()
