"""The compile check: every Triton kernel, in every launch configuration its autotuner may pick at the
project's shapes, compiled for sm_80 (A100) and sm_90 (H100) in bf16 and in fp32 with TF32 dots, with no
GPU and no driver (``triton.compile`` on a ``GPUTarget``), must compile with no register spills and within
the target's shared memory per block.

Compiles run in worker processes with a fresh Triton cache each (nothing carries over between runs); the
full table over every shape the dispatchers accept is ``benchmarks/kernel_resources.py``.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

pytest.importorskip("triton")

from hf_graph4mm.kernels.hop_diffused import triton as hop_triton  # noqa: E402
from hf_graph4mm.kernels.triton_resources import (  # noqa: E402
    CHECKED_SHAPES,
    compile_jobs,
    job_key,
    project_jobs,
)

TARGETS = (80, 90)
DTYPES = ("bf16", "fp32-tf32")


def oversized_control():
    """A block the check must reject: hop-diffused forward, 128 nodes x head width 128 in bf16, 8 warps (the
    node block 4x the project's, the head twice as wide): it spills on sm_90 (the limits table refuses it)."""
    return next(job for job in hop_triton.compile_jobs(90, "bf16", 128, 128) if job.num_warps == 8)


@pytest.mark.slow  # about 80 compiles: 1-2 minutes on 2 cores
def test_kernels_compile_for_sm80_and_sm90_without_spills_at_the_project_shapes():
    jobs = project_jobs(TARGETS, DTYPES)
    # the limits table accepts every project shape, so this checks what the dispatchers run
    expected = {
        (kernel, arch, dtype, shape)
        for arch in TARGETS
        for dtype in DTYPES
        for kernels, family in (
            (("hop fwd", "hop bwd"), "hop"),
            (("interlaced fwd", "interlaced bwd"), "interlaced"),
        )
        for kernel in kernels
        for shape in CHECKED_SHAPES[family]
    }
    assert set(Counter(job_key(job) for job in jobs)) == expected
    control = oversized_control()
    results = compile_jobs([*jobs, control], workers=os.cpu_count() or 2, timeout=300)
    *checked, control_result = results
    problems = {
        f"{job_key(result.job)} {result.job.label['config']}": result.problems() or ["not compiled"]
        for result in checked
        if result.problems() or result.registers is None
    }
    assert not problems, problems
    # the check itself: the same assertions reject a deliberately oversized block
    assert control_result.registers is not None and control_result.spills > 0, control_result
