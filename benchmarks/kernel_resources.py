"""What every Triton kernel needs on a real GPU, compiled here without one: kernel x target x dtype x shape
-> registers, spills, shared memory, compile seconds.

    python benchmarks/kernel_resources.py                  # the full table (several minutes on 2 cores)
    python benchmarks/kernel_resources.py --workers 2 --timeout 600

This first version describes the kernels as they were before issue 29 (launch parameters of the
wrappers at that commit: block 64, 4 warps (8 for hop graphs over 64 nodes), 3 stages).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hf_graph4mm.kernels.triton_resources import CompileJob, compile_jobs  # noqa: E402

TARGETS = (80, 90)
DTYPES = {"bf16": ("bf16", "tf32"), "fp32": ("fp32", "ieee"), "fp32-tf32": ("fp32", "tf32")}
SIZES = (16, 32, 64, 128)
HOP = "hf_graph4mm.kernels.hop_diffused.triton"
INTERLACED = "hf_graph4mm.kernels.interlaced.triton"


def hop_jobs(arch, dtype_name, nodes, head_dim, steps=3):
    dtype, precision = DTYPES[dtype_name]
    acc = "fp32"
    data = {name: f"*{dtype}" for name in ("Q", "K", "V", "OUT", "GRAD_OUT", "GRAD_Q", "GRAD_K", "GRAD_V")}
    data.update(ADJ="*u8", COEF=f"*{acc}", HOPS=f"*{acc}", num_heads="i32", num_nodes="i32", head_dim="i32")
    common = dict(NUM_STEPS=steps, BLOCK_N=nodes, BLOCK_D=head_dim, PRECISION=precision)
    warps = 8 if nodes > 64 else 4
    label = dict(dtype=dtype_name, shape=f"N{nodes} D{head_dim} K{steps}", config=f"w{warps} s3")
    divisible = ("Q", "K", "V", "ADJ", "COEF", "OUT", "HOPS", "GRAD_OUT", "GRAD_Q", "GRAD_K", "GRAD_V")
    divisible += tuple(
        name for name, size in (("num_nodes", nodes), ("head_dim", head_dim)) if size % 16 == 0
    )
    return [
        CompileJob(HOP, "_hop_diffused_fwd_kernel", data, dict(common, SAVE_HOPS=True), arch, warps, 3, divisible,
                   dict(label, kernel="hop fwd")),
        CompileJob(HOP, "_hop_diffused_bwd_kernel", data, common, arch, warps, 3, divisible,
                   dict(label, kernel="hop bwd")),
    ]  # fmt: skip


def interlaced_jobs(arch, dtype_name, head_dim, block=64):
    dtype, precision = DTYPES[dtype_name]
    data = {name: f"*{dtype}" for name in ("Q", "K", "V", "OUT", "GRAD_OUT", "GRAD_Q", "GRAD_K", "GRAD_V")}
    data.update(
        KPM="*u8", SCALE="*fp32", LSE="*fp32", DELTA="*fp32", num_heads="i32", seq_len="i32", head_dim="i32"
    )
    data.update(SEGMENTS="*i32", PATTERN="*i32", QUERY_BLOCKS="*i32", KEY_BLOCKS="*i32", num_key_blocks="i32")
    common = dict(HAS_KPM=True, BLOCK_M=block, BLOCK_N=block, BLOCK_D=head_dim, PRECISION=precision)
    label = dict(dtype=dtype_name, shape=f"D{head_dim}", config=f"M{block} N{block} w4 s3")
    divisible = tuple(name for name in data if name[0].isupper()) + (
        ("head_dim",) if head_dim % 16 == 0 else ()
    )
    return [
        CompileJob(INTERLACED, "_interlaced_fwd_kernel", data, common, arch, 4, 3, divisible,
                   dict(label, kernel="interlaced fwd")),
        CompileJob(INTERLACED, "_interlaced_bwd_kernel", data, dict(common, NUM_SEGMENTS=3), arch, 4, 3,
                   divisible, dict(label, kernel="interlaced bwd")),
    ]  # fmt: skip


def all_jobs():
    jobs = []
    for arch in TARGETS:
        for dtype_name in DTYPES:
            for head_dim in SIZES:
                jobs += interlaced_jobs(arch, dtype_name, head_dim)
                for nodes in SIZES:
                    jobs += hop_jobs(arch, dtype_name, nodes, head_dim)
    return jobs


def row(result) -> str:
    job = result.job
    label = job.label
    cells = [label["kernel"], f"sm_{job.arch}", label["dtype"], label["shape"], label["config"]]
    if result.error and result.registers is None:
        cells += [
            "-",
            "-",
            "-",
            f"{result.seconds:.0f}" if result.seconds else "-",
            result.error.splitlines()[0][:80],
        ]
    else:
        verdict = "; ".join(result.problems()) or "ok"
        cells += [str(result.registers), f"{result.spill_stores}/{result.spill_loads}", str(result.shared),
                  f"{result.seconds:.1f}", verdict]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per kernel before giving up")
    args = parser.parse_args(argv)
    import triton

    print(f"# triton {triton.__version__}, compiled without a driver (GPUTarget('cuda', arch, 32))")
    print(
        "| kernel | target | dtype | shape | config | registers | spills st/ld B | shared B | compile s | verdict |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    jobs = all_jobs()
    done = []

    def progress(result):
        done.append(result)
        print(f"[{len(done)}/{len(jobs)}] {row(result)}", file=sys.stderr, flush=True)

    for result in compile_jobs(jobs, workers=args.workers, timeout=args.timeout, progress=progress):
        print(row(result))


if __name__ == "__main__":
    main()
