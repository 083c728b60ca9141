"""What this machine can do right now: load average, GEMM rate, memory bandwidth and the cost of fresh
memory, on one line.

A shared VM's rates drift between runs, and a compute-bound row and a memory-bound row drift
by different amounts, so a ratio between them moves with the machine (the ranges seen are in
``benchmarks/RESULTS.md``).
Benchmarks print this line before and after their tables so a reader can tell a code change
from a machine change. It measures; it asserts nothing. ``cuda_ceilings`` is the GPU's counterpart
(``benchmarks/attention.py --ceilings``).

    python benchmarks/machine_state.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import time_round_robin  # noqa: E402


def loadavg() -> str:
    """The first three fields of /proc/loadavg (1, 5 and 15 minute load), or "n/a"."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _best_seconds(run, repeats: int) -> float:
    """Fastest of ``repeats`` timed calls of ``run`` after one warm-up (first-touch faults, MKL's threads)."""
    return time_round_robin({"run": (run, (), False)}, "cpu", repeats, warmups=1)["run"]


def gemm_gflops(size: int = 1024, repeats: int = 5) -> float:
    """float32 ``size^3`` matmul rate on the current torch threads, GFLOP/s (best of ``repeats``)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    out = torch.empty(size, size)
    return 2 * size**3 / _best_seconds(lambda: torch.mm(a, b, out=out), repeats) / 1e9


def copy_gbps(megabytes: int = 64, repeats: int = 5) -> float:
    """float32 copy between two preallocated buffers, GB/s counted as bytes read plus bytes written."""
    source = torch.ones(megabytes * 2**20 // 4)
    target = torch.empty_like(source)
    return 2 * source.numel() * 4 / _best_seconds(lambda: target.copy_(source), repeats) / 1e9


def fresh_fill_gbps(megabytes: int = 64, repeats: int = 5) -> float:
    """float32 fill of a NEW buffer each time, GB/s written: what a fresh activation costs.

    Far below :func:`copy_gbps` when the allocator hands large blocks back to the OS and every new
    one page-faults on first touch (glibc mmaps blocks over 32 MB, and often smaller ones). On a
    shared VM that cost moves between runs, and it weighs most on code that writes large fresh
    intermediates, such as the published formulations.
    """
    numel = megabytes * 2**20 // 4
    return numel * 4 / _best_seconds(lambda: torch.empty(numel).fill_(1.0), repeats) / 1e9


def machine_state() -> str:
    """``"loadavg 0.61 0.90 0.95; gemm 1024^3 150 GFLOP/s; copy 64 MB 26.4 GB/s; fresh 64 MB fill
    3.1 GB/s; 2 threads"``."""
    return (
        f"loadavg {loadavg()}; gemm 1024^3 {gemm_gflops():.0f} GFLOP/s; copy 64 MB {copy_gbps():.1f} GB/s; "
        f"fresh 64 MB fill {fresh_fill_gbps():.1f} GB/s; {torch.get_num_threads()} threads"
    )


def cuda_ceilings() -> str:
    """The GPU's counterpart: device-to-device copy bandwidth (bytes read + written) and a large bf16
    matmul rate, round-robin over 10 rounds."""
    source = torch.randn(2**30 // 2, device="cuda", dtype=torch.bfloat16)  # 1 GiB
    target = torch.empty_like(source)
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    seconds = time_round_robin(
        {"copy": (lambda: target.copy_(source), (), False), "matmul": (lambda: a @ b, (), False)}, "cuda", 10
    )
    copy, matmul = seconds["copy"], seconds["matmul"]
    return (
        f"ceilings: copy {2 * source.numel() * 2 / copy / 1e12:.2f} TB/s, "
        f"bf16 matmul {2 * 8192**3 / matmul / 1e12:.0f} TFLOP/s"
    )


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    print(machine_state())
