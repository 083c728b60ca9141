"""Compile Triton kernels for a GPU on a machine without one, and read what each compiled kernel needs.

``triton.compile(ASTSource(kernel, signature, constexprs, attrs), target=GPUTarget("cuda", arch, 32))``
runs the whole pipeline (TTIR, TTGIR, LLVM, PTX, and the wheel's ``ptxas``) without a driver; ptxas's
``-v`` log gives registers per thread, spill stores/loads and the stack frame, and Triton's metadata the
dynamic shared memory a launch asks for. :func:`compile_jobs` runs a list of :class:`CompileJob` in
worker processes (with ``TRITON_INTERPRET`` unset, a fresh ``TRITON_CACHE_DIR`` each, so nothing is
reused across runs) and a per-job time limit: some shapes spend minutes in LLVM and ptxas.

Used by the compile check (tests/kernels/test_triton_compile.py) and ``benchmarks/kernel_resources.py``;
the launch parameters of each kernel come from the kernel's module (``compile_jobs`` there), so what is
checked is what the wrappers launch. Worker entry point: ``python hf_graph4mm/kernels/triton_resources.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

# Largest dynamic shared memory one block may use (cudaDevAttrMaxSharedMemoryPerBlockOptin), per arch.
SHARED_MEMORY_PER_BLOCK = {
    80: 166_912,  # A100
    86: 101_376,
    87: 166_912,
    89: 101_376,
    90: 232_448,  # H100 / H200
    100: 232_448,
    120: 101_376,
}
MAX_REGISTERS = 255  # per thread, every arch since sm_50


# The project's shapes: Graph4MM subgraphs (12 text / 5 image node slots and the N 32: blocks of 16
# and 32 nodes, head width 64, K 3) and GsiT on MOSI (head width 32 in the cross-modal passes, 64 in the
# self pass; attention dropout 0.1 when training, none at eval).
PROJECT_SHAPES = {
    "hop": ((32, 64), (16, 64)),
    "interlaced": ((32, True), (64, True), (32, False), (64, False)),
}
# What the CI compile check compiles: the largest of each (a smaller node block, or the kernels without their
# dropout code, need no more registers or shared memory; the full table checks them all).
CHECKED_SHAPES = {"hop": ((32, 64),), "interlaced": ((32, True), (64, True))}


def project_jobs(targets=(80, 90), dtypes=("bf16", "fp32-tf32"), shapes=None) -> list:
    """Every launch configuration of every kernel at ``shapes`` (default :data:`CHECKED_SHAPES`) that the
    limits table accepts (what the dispatchers and autotuners may run), as jobs: the CI compile check."""
    from .hop_diffused import triton as hop_triton
    from .interlaced import triton as interlaced_triton
    from .triton_limits import FITTING

    accepted = {
        (kernel, arch, dtype, shape, config)
        for (kernel, arch, dtype, shape), rows in FITTING.items()
        for config, _ in rows
    }
    shapes = CHECKED_SHAPES if shapes is None else shapes
    jobs = []
    for arch in targets:
        for dtype in dtypes:
            for nodes, head_dim in shapes["hop"]:
                jobs += hop_triton.compile_jobs(arch, dtype, nodes, head_dim)
            for head_dim, dropout in shapes["interlaced"]:
                jobs += interlaced_triton.compile_jobs(arch, dtype, head_dim, dropout)
    return [job for job in jobs if job_key(job) + (tuple(job.label["config"]),) in accepted]


def job_key(job) -> tuple:
    """``(kernel, target, dtype, block shape)``: how the limits table names what ``job`` compiles."""
    label = job.label
    return (label["kernel"], job.arch, label["dtype"], tuple(label["shape"]))


@dataclass(frozen=True)
class CompileJob:
    """One kernel specialisation to compile: what a wrapper would launch for one shape and dtype.

    ``signature`` maps every non-constexpr argument to its Triton type (``"*bf16"``, ``"i32"``, a tuple of
    types for a tuple argument); ``constexprs`` gives the constexpr arguments' values; ``divisible`` names
    the arguments Triton would see as multiples of 16 (pointers from torch's allocator, sizes like 64).
    ``label`` is what a table prints for it.
    """

    module: str
    kernel: str
    signature: dict
    constexprs: dict
    arch: int
    num_warps: int
    num_stages: int
    divisible: tuple[str, ...] = ()
    label: dict = field(default_factory=dict)


@dataclass
class CompileResult:
    job: CompileJob
    registers: int | None = None
    spill_stores: int | None = None
    spill_loads: int | None = None
    stack: int | None = None
    shared: int | None = None
    seconds: float | None = None
    error: str | None = None

    @property
    def spills(self) -> int | None:
        return None if self.spill_stores is None else self.spill_stores + self.spill_loads

    @property
    def shared_limit(self) -> int:
        return SHARED_MEMORY_PER_BLOCK.get(self.job.arch, min(SHARED_MEMORY_PER_BLOCK.values()))

    def problems(self) -> list[str]:
        """Why this kernel would not launch, or would launch slowly: empty when it is fine."""
        if self.error:
            return [self.error]
        found = []
        if self.spills:
            found.append(f"spills {self.spill_stores} B stored / {self.spill_loads} B loaded per thread")
        if self.shared > self.shared_limit:
            found.append(
                f"shared memory {self.shared} B > {self.shared_limit} B per block on sm_{self.job.arch}"
            )
        return found


_PTXAS = re.compile(
    r"(?P<stack>\d+) bytes stack frame, (?P<stores>\d+) bytes spill stores, (?P<loads>\d+) bytes spill loads.*?"
    r"Used (?P<registers>\d+) registers",
    re.S,
)


def _as_tuples(value):
    """JSON turns tuples into lists; Triton wants tuples back (tuple arguments, tuple constexprs)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list) else value


def compile_one(job: CompileJob) -> CompileResult:
    """Compile ``job`` in this process (which must not run the interpreter) and read its resources."""
    import importlib

    import triton
    from triton import knobs
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from triton.runtime.jit import JITFunction

    kernel = getattr(importlib.import_module(job.module), job.kernel)
    while not isinstance(kernel, JITFunction):  # an Autotuner (or Heuristics) wraps the JITFunction
        kernel = kernel.fn
    names = kernel.arg_names
    signature = {name: _as_tuples(job.signature.get(name, "constexpr")) for name in names}
    constexprs = {
        (names.index(name),): _as_tuples(value) for name, value in job.constexprs.items() if name in names
    }
    attrs = {(names.index(name),): [["tt.divisibility", 16]] for name in job.divisible if name in names}
    knobs.nvidia.dump_ptxas_log = True
    log = io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(log):
            compiled = triton.compile(
                ASTSource(kernel, signature, constexprs, attrs),
                target=GPUTarget("cuda", job.arch, 32),
                options=dict(num_warps=job.num_warps, num_stages=job.num_stages),
            )
    except Exception as error:  # a kernel that does not compile is a result, not a crash of the table
        return CompileResult(
            job, seconds=time.perf_counter() - start, error=f"{type(error).__name__}: {error}"[-600:]
        )
    seconds = time.perf_counter() - start
    match = _PTXAS.search(log.getvalue())
    if match is None:
        return CompileResult(job, seconds=seconds, error="no ptxas -v log")
    return CompileResult(
        job,
        registers=int(match["registers"]),
        spill_stores=int(match["stores"]),
        spill_loads=int(match["loads"]),
        stack=int(match["stack"]),
        shared=int(compiled.metadata.shared),
        seconds=seconds,
    )


def _worker_env(cache_dir: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = cache_dir  # fresh per run: nothing compiled earlier is reused
    env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # Triton 3.9's default, set to silence its notice
    return env


class _Worker:
    """A ``python -m hf_graph4mm.kernels.triton_resources`` process that compiles one job per stdin line."""

    def __init__(self, cache_dir: str):
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__)],  # a script: ``-m`` would import the package first
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_worker_env(cache_dir),
            text=True,
        )

    def run(self, job: CompileJob, timeout: float | None) -> CompileResult:
        self.process.stdin.write(json.dumps(asdict(job)) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.close()
            reason = f"timeout: more than {timeout:.0f} s" if not ready else "the compiler process died"
            return CompileResult(job, seconds=timeout if not ready else None, error=reason)
        fields = json.loads(line)
        fields.pop("job")
        return CompileResult(job, **fields)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def compile_jobs(
    jobs: list[CompileJob], workers: int = 2, timeout: float | None = None, progress=None, skip=None
) -> list[CompileResult]:
    """Compile every job (``workers`` processes at a time, at most ``timeout`` seconds each), in order.

    ``progress(result)`` is called as each result arrives; ``skip(job)``, when given, is asked before a job
    starts and may return why it need not be compiled (the result then carries that as its error).
    """
    pending: queue.Queue = queue.Queue()
    for index, job in enumerate(jobs):
        pending.put((index, job))
    results: list[CompileResult | None] = [None] * len(jobs)

    def drain(cache_dir: str) -> None:
        worker = None
        while True:
            try:
                index, job = pending.get_nowait()
            except queue.Empty:
                break
            reason = skip(job) if skip is not None else None
            if reason is not None:
                results[index] = result = CompileResult(job, error=reason)
            else:
                if worker is None or worker.process.poll() is not None:
                    worker = _Worker(cache_dir)
                results[index] = result = worker.run(job, timeout)
            if progress is not None:
                progress(result)
        if worker is not None:
            worker.process.stdin.close()
            worker.process.wait()

    with tempfile.TemporaryDirectory(prefix="hf-graph4mm-triton-cache-") as root:
        threads = [
            threading.Thread(target=drain, args=(os.path.join(root, str(n)),)) for n in range(max(1, workers))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return results


def _serve() -> None:
    """Worker loop: one JSON job per input line, one JSON result per output line.

    The kernel modules are imported without running ``hf_graph4mm/__init__`` (which registers the models
    with transformers, seconds of imports a compiler does not need): the top package is a bare namespace.
    """
    import types
    from pathlib import Path

    package = types.ModuleType("hf_graph4mm")
    package.__path__ = [str(Path(__file__).resolve().parents[1])]
    sys.modules.setdefault("hf_graph4mm", package)
    for line in sys.stdin:
        if not line.strip():
            continue
        job = CompileJob(**json.loads(line))
        try:
            result = asdict(compile_one(job))
        except Exception as error:  # reported as the job's result; the worker serves the next one
            result = asdict(CompileResult(job, error=f"{type(error).__name__}: {error}"[-600:]))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    _serve()
