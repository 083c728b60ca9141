"""Backend selection: names, errors, and Triton staying lazy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hf_graph4mm
from hf_graph4mm.kernels import check_implementation, get_backend


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)


PACKAGE_DIR = str(Path(hf_graph4mm.__file__).parent)


def test_unknown_implementation_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown attention implementation 'flash'.*eager, sdpa, triton, flex_attention"):
        check_implementation("flash")


def test_unknown_core_is_named():
    with pytest.raises(ValueError, match="unknown attention core 'ring'"):
        get_backend("ring", "sdpa")


def test_triton_backend_registers_on_first_request():
    pytest.importorskip("triton")
    function = get_backend("interlaced", "triton")  # the test environment interprets or has a GPU
    assert function.__name__ == "interlaced_attention_triton"
    assert get_backend("hop_diffused", "triton").__name__ == "hop_diffused_attention_triton"


def test_kernels_import_alone_without_triton_register_sdpa_and_say_why_triton_is_refused():
    """In a fresh interpreter, import only the kernels package (not the models), with Triton hidden."""
    result = run_python(
        f"""
        import sys, types
        sys.modules["triton"] = None  # as if Triton were not installed
        package = types.ModuleType("hf_graph4mm")
        package.__path__ = [{PACKAGE_DIR!r}]  # skip hf_graph4mm/__init__.py, which loads the models
        sys.modules["hf_graph4mm"] = package
        import torch
        from hf_graph4mm.kernels import check_implementation, interlaced_attention
        from hf_graph4mm.kernels import HopDiffusedAttentionInterface, InterlacedAttentionInterface
        loaded = lambda table: sorted(name for name, entry in table._global_mapping.items() if callable(entry))
        print(loaded(HopDiffusedAttentionInterface), loaded(InterlacedAttentionInterface))
        print(sorted(name for name in sys.modules if name.startswith(("transformers", "hf_graph4mm.model"))))
        q = torch.randn(1, 1, 3, 2)
        interlaced_attention(q, q, q, (1, 1, 1), "forward", implementation="sdpa")
        try:
            check_implementation("triton")
        except ValueError as error:
            print(error)
        """
    )
    assert result.returncode == 0, result.stderr
    registered, model_modules, refusal = result.stdout.splitlines()
    assert registered == "['eager', 'sdpa'] ['eager', 'sdpa']"
    assert model_modules == "[]"  # kernels know nothing of models or transformers
    assert "the `triton` package is not installed" in refusal
