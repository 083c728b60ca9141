"""What every Triton kernel needs on a real GPU, compiled here without one: kernel x target x dtype x shape x
launch configuration -> registers, spills, shared memory, compile seconds; and the launch limits chosen from it.

    python benchmarks/kernel_resources.py --summary          # acceptance matrix + the project's shapes
    python benchmarks/kernel_resources.py --table            # every row (about 1,300 compiles, ~40 min on 2 cores)
    python benchmarks/kernel_resources.py --save results.json --write-limits hf_graph4mm/kernels/triton_limits.py
    python benchmarks/kernel_resources.py --load results.json --summary   # re-print without compiling
    python benchmarks/kernel_resources.py --load results.json --kernels "interlaced bwd" --save results.json
                                                              # recompile one kernel's rows, keep the rest

Every shape the dispatchers could accept: Hop-Diffused blocks of N x d nodes x head width (16..128 each,
K = 3 hops), interlaced heads of d = 16..128 with and without dropout, each kernel (forward and backward)
in every configuration its autotuner may pick, for sm_80 (A100) and sm_90 (H100), in bf16, fp16, fp32
(exact: torch's default "highest" matmul precision), fp32-tf32 and fp64. Each is compiled by
``triton.compile`` in worker processes with a fresh cache (hf_graph4mm/kernels/triton_resources.py); a
compile slower than ``--timeout`` counts as not fitting. A configuration fits when it compiles with no
register spills and within the target's shared memory per block; ``--write-limits`` writes those (with
their shared memory) as ``FITTING``, which the "triton" entries and their autotuners read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hf_graph4mm.kernels.hop_diffused import triton as hop_triton  # noqa: E402
from hf_graph4mm.kernels.interlaced import triton as interlaced_triton  # noqa: E402
from hf_graph4mm.kernels.triton_resources import (  # noqa: E402
    PROJECT_SHAPES,
    CompileJob,
    CompileResult,
    compile_jobs,
    job_key,
)

TARGETS = (80, 90)
DTYPES = (
    "bf16",
    "fp32",
    "fp32-tf32",
    "fp64",
)  # fp16 compiles to bf16's tiles and MMA shapes: bf16's rows speak for it
SIZES = (16, 32, 64, 128)


def all_jobs(targets=TARGETS, dtypes=DTYPES) -> list[CompileJob]:
    """Every job, smallest blocks first (so that :class:`Dominance` can skip what a smaller block rules out)."""
    jobs = []
    for arch in targets:
        for dtype in dtypes:
            for head_dim in SIZES:
                for dropout in (False, True):
                    jobs += interlaced_triton.compile_jobs(arch, dtype, head_dim, dropout)
                for nodes in SIZES:
                    jobs += hop_triton.compile_jobs(arch, dtype, nodes, head_dim)
    return sorted(
        jobs,
        key=lambda job: (
            job.label["shape"][0] * (job.label["shape"][1] if job.label["kernel"].startswith("hop") else 1)
        ),
    )


HEAVY_SPILL = 1024  # bytes stored per thread: a failure this large rules out every larger block


class Dominance:
    """Skip a job when the same kernel, target, dtype and configuration already failed heavily at a block no
    larger in any dimension (spilled a KiB or more, overflowed shared memory, or did not compile in time):
    those only grow with the block. A marginal failure (a few spilled bytes) rules nothing out: ptxas may
    allocate a larger block without spilling."""

    def __init__(self):
        self.failed = []

    def record(self, result: CompileResult) -> None:
        if fits(result) or (result.error or "").startswith("not compiled"):
            return
        marginal = result.registers is not None and result.shared <= result.shared_limit
        if not (marginal and result.spill_stores < HEAVY_SPILL):
            self.failed.append(result.job)

    def __call__(self, job: CompileJob) -> str | None:
        label = job.label
        for smaller in self.failed:
            other = smaller.label
            if (other["kernel"], smaller.arch, other["dtype"], tuple(other["config"])) != (
                label["kernel"], job.arch, label["dtype"], tuple(label["config"])
            ):  # fmt: skip
                continue
            if label["kernel"].startswith("hop"):
                below = all(a <= b for a, b in zip(other["shape"], label["shape"]))
            else:  # interlaced: head width, and dropout (True needs more than False)
                below = other["shape"][0] <= label["shape"][0] and other["shape"][1] <= label["shape"][1]
            if below:
                return f"not compiled: {shape_text(other['kernel'], other['shape'])} already does not fit"
        return None


def fits(result: CompileResult) -> bool:
    return result.registers is not None and not result.problems()


def shape_text(kernel: str, shape) -> str:
    if kernel.startswith("hop"):
        return f"N{shape[0]} d{shape[1]}"
    return f"d{shape[0]}{' dropout' if shape[1] else ''}"


def config_text(kernel: str, config) -> str:
    if kernel.startswith("hop"):
        return f"w{config[0]}"
    return f"M{config[0]} N{config[1]} w{config[2]} s{config[3]}"


def row(result: CompileResult) -> str:
    job, label = result.job, result.job.label
    cells = [label["kernel"], f"sm_{job.arch}", label["dtype"], shape_text(label["kernel"], label["shape"])]
    cells.append(config_text(label["kernel"], label["config"]))
    seconds = f"{result.seconds:.1f}" if result.seconds is not None else "-"
    if result.registers is None:
        cells += ["-", "-", "-", seconds, (result.error or "").strip().splitlines()[-1][:90]]
    else:
        verdict = "; ".join(result.problems()) or "fits"
        cells += [str(result.registers), f"{result.spill_stores}/{result.spill_loads}", str(result.shared)]
        cells += [seconds, verdict]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| kernel | target | dtype | shape | config | registers | spills st/ld B | shared B | compile s | verdict |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def best_rows(results: list[CompileResult]) -> list[CompileResult]:
    """One row per (kernel, target, dtype, shape): the fitting configuration with the fewest registers x
    warps (else the one closest to fitting: fewest spills)."""
    groups = defaultdict(list)
    for result in results:
        groups[job_key(result.job)].append(result)

    def rank(result):
        if fits(result):
            return (0, result.registers * result.job.num_warps)
        return (1, result.spills if result.spills is not None else float("inf"))

    return [min(group, key=rank) for group in groups.values()]


def summary(results: list[CompileResult]) -> str:
    """Acceptance matrix (which shapes fit, per kernel x target x dtype) and the project's shapes in full."""
    accepted = defaultdict(list)
    refused = defaultdict(list)
    for result in sorted(best_rows(results), key=lambda r: tuple(r.job.label["shape"])[::-1]):
        kernel, arch, dtype, shape = job_key(result.job)
        (accepted if fits(result) else refused)[(kernel, arch, dtype)].append(shape_text(kernel, shape))
    lines = ["| kernel | target | dtype | shapes that fit | shapes that do not |", "|---|---|---|---|---|"]
    for group in sorted(set(accepted) | set(refused), key=lambda g: (g[0], g[1], DTYPES.index(g[2]))):
        lines.append(
            f"| {group[0]} | sm_{group[1]} | {group[2]} | {', '.join(accepted[group]) or '-'} "
            f"| {', '.join(refused[group]) or '-'} |"
        )
    project = {("hop fwd", s) for s in PROJECT_SHAPES["hop"]} | {
        ("hop bwd", s) for s in PROJECT_SHAPES["hop"]
    }
    project |= {(k, s) for k in ("interlaced fwd", "interlaced bwd") for s in PROJECT_SHAPES["interlaced"]}
    lines += ["", "The project's shapes (best configuration of each):", "", HEADER]
    for result in best_rows(results):
        label = result.job.label
        if (label["kernel"], tuple(label["shape"])) in project and label["dtype"] in (
            "bf16",
            "fp32",
            "fp32-tf32",
        ):
            lines.append(row(result))
    return "\n".join(lines)


def limits_source(results: list[CompileResult], command: str) -> str:
    import triton

    fitting = defaultdict(list)
    for result in results:
        if fits(result):
            fitting[job_key(result.job)].append((tuple(result.job.label["config"]), result.shared))
    entries = "\n".join(
        f"    {k!r}: {tuple(sorted(v))!r},".replace("'", '"') for k, v in sorted(fitting.items(), key=repr)
    )
    return f'''"""Which launch configurations of the Triton kernels fit each GPU: generated, do not edit by hand.

    {command}

(benchmarks/RESULTS.md, "Triton kernel resources", gives the run that wrote it.)

triton {triton.__version__}, compiled without a driver for sm_80 and sm_90. Keys: (kernel, target, dtype, block
shape); values: the configurations that compile with no register spills and within the target's shared
memory per block, with the shared memory each asks for (bytes, compared with the device's own limit at
launch). Hop-Diffused shapes are (BLOCK_N, BLOCK_D) and configurations (num_warps,); interlaced shapes
are (BLOCK_D, dropout) and configurations (BLOCK_M, BLOCK_N, num_warps, num_stages).
"""

FITTING = {{
{entries}
}}
'''


def save(results: list[CompileResult], path: str) -> None:
    Path(path).write_text(json.dumps([asdict(result) for result in results]))


def load(path: str) -> list[CompileResult]:
    results = []
    for fields in json.loads(Path(path).read_text()):
        job = CompileJob(**fields.pop("job"))
        results.append(CompileResult(job, **fields))
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--timeout", type=float, default=60, help="seconds per kernel before it counts as unfit"
    )
    parser.add_argument("--table", action="store_true", help="print every row")
    parser.add_argument("--summary", action="store_true", help="print the acceptance matrix and project rows")
    parser.add_argument("--save", help="write the raw results (JSON)")
    parser.add_argument(
        "--retry-skipped",
        action="store_true",
        help="with --load: compile the rows a smaller block had skipped",
    )
    parser.add_argument("--load", help="read raw results instead of compiling")
    parser.add_argument(
        "--kernels",
        nargs="+",
        help="with --load: recompile these kernels' rows (e.g. 'interlaced bwd'), keep the rest",
    )
    parser.add_argument(
        "--write-limits", help="write the FITTING table (hf_graph4mm/kernels/triton_limits.py)"
    )
    args = parser.parse_args(argv)
    import triton

    results = load(args.load) if args.load else []
    if args.kernels or args.retry_skipped or not args.load:
        dominance = Dominance()
        if args.retry_skipped:  # compile what a smaller block's (now ruled marginal) failure had skipped
            jobs = [r.job for r in results if (r.error or "").startswith("not compiled")]
            results = [r for r in results if not (r.error or "").startswith("not compiled")]
            for result in results:
                dominance.record(result)
        else:
            results = [r for r in results if r.job.label["kernel"] not in (args.kernels or ())]
            jobs = [job for job in all_jobs() if not args.kernels or job.label["kernel"] in args.kernels]
        done = []

        def progress(result):
            done.append(result)
            dominance.record(result)
            print(f"[{len(done)}/{len(jobs)}] {row(result)}", file=sys.stderr, flush=True)

        results += compile_jobs(
            jobs, workers=args.workers, timeout=args.timeout, progress=progress, skip=dominance
        )
    if args.save:
        save(results, args.save)
    print(
        f"# triton {triton.__version__}, compiled without a driver: triton.compile(..., GPUTarget('cuda', arch, 32))"
    )
    if args.table or not args.summary:
        print(HEADER)
        for result in results:
            print(row(result))
    if args.summary:
        print(summary(results))
    if args.write_limits:
        command = (
            "python benchmarks/kernel_resources.py --save results.json --write-limits " + args.write_limits
        )
        Path(args.write_limits).write_text(limits_source(results, command))


if __name__ == "__main__":
    main()
