"""Backend selection: names, errors, and Triton staying lazy."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from hf_graph4mm.kernels import check_implementation, get_backend


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)


def test_unknown_implementation_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown attention implementation 'flash'.*eager, sdpa, triton"):
        check_implementation("flash")


def test_unknown_core_is_named():
    with pytest.raises(ValueError, match="unknown attention core 'ring'"):
        from hf_graph4mm.kernels import register_backend

        register_backend("ring", "sdpa", print)


def test_triton_backend_registers_on_first_request():
    pytest.importorskip("triton")
    function = get_backend("interlaced", "triton")  # the test environment interprets or has a GPU
    assert function.__name__ == "interlaced_attention_triton"
    assert get_backend("hop_diffused", "triton").__name__ == "hop_diffused_attention_triton"


@pytest.mark.slow  # a fresh interpreter importing torch and transformers: ~5 s of CPU
def test_package_imports_without_triton_registers_sdpa_and_says_why_triton_is_refused():
    result = run_python(
        """
        import sys
        sys.modules["triton"] = None  # as if Triton were not installed
        import torch
        from hf_graph4mm.kernels import check_implementation, interlaced_attention
        from hf_graph4mm.kernels.backends import _REGISTRY
        print(sorted(_REGISTRY["hop_diffused"]), sorted(_REGISTRY["interlaced"]))
        q = torch.randn(1, 1, 3, 2)
        interlaced_attention(q, q, q, (1, 1, 1), "forward", implementation="sdpa")
        try:
            check_implementation("triton")
        except ValueError as error:
            print(error)
        """
    )
    assert result.returncode == 0, result.stderr
    registered, refusal = result.stdout.splitlines()
    assert registered == "['eager', 'sdpa'] ['eager', 'sdpa']"
    assert "the `triton` package is not installed" in refusal
