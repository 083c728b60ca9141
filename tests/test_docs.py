"""Every code block of README.md and docs/*.md runs, so the documentation cannot rot.

Per file, its ```python and ```bash blocks run in order in ONE fresh process, in a new temporary working
folder: python blocks share one namespace (a later block uses an earlier one's names), bash blocks run
with ``bash -euo pipefail`` and ``hf-graph4mm`` on PATH (this checkout's, through a shim). A block whose
fence is directly preceded by a line ``<!-- not-run: reason -->`` is skipped (installs, downloads, GPUs,
placeholder Hub repositories); the reason is required. Blocks in other languages (or none) are text.

The folder holds what the README assumes ``make demo`` left: ``demo_output/graph4mm`` and
``demo_output/gsit`` (tiny random models, saved as the demo saves its checkpoints) and ``figure.jpg``.
Nothing is downloaded (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
NOT_RUN = re.compile(r"^\s*<!--\s*not-run:\s*(?P<reason>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<language>[\w+-]*)\s*$")
RUNNABLE = ("python", "bash")


@dataclass
class Block:
    language: str
    code: str
    line: int  # of the opening fence, 1-based
    skip_reason: str | None


def code_blocks(text: str) -> list[Block]:
    """The fenced blocks of a markdown text, with the not-run marker of the line before each."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent = opening["indent"]
        marker = NOT_RUN.match(lines[index - 1]) if index else None
        body, end = [], index + 1
        while end < len(lines) and lines[end].strip() != "```":
            body.append(lines[end][len(indent) :] if lines[end].startswith(indent) else lines[end])
            end += 1
        if end == len(lines):
            raise ValueError(f"line {index + 1}: a code block is never closed")
        reason = marker["reason"] if marker else None
        blocks.append(Block(opening["language"], "\n".join(body) + "\n", index + 1, reason))
        index = end + 1
    return blocks


DRIVER = r"""
import json, os, subprocess, sys, traceback
blocks = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
for block in blocks:
    where = f"{sys.argv[2]} line {block['line']} ({block['language']})"
    print(f"=== {where}", flush=True)
    if block["language"] == "python":
        try:
            exec(compile(block["code"], where, "exec"), namespace)
        except BaseException:
            traceback.print_exc()
            print(f"FAILED {where}", flush=True)
            sys.exit(1)
    else:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", block["code"]])
        if result.returncode:
            print(f"FAILED {where} (exit {result.returncode})", flush=True)
            sys.exit(1)
print("ALL BLOCKS RAN", flush=True)
"""


def prepare_folder(folder: Path) -> dict[str, str]:
    """What the README assumes exists (the demo's checkpoints, an image), and the environment to run in."""
    import numpy as np
    from PIL import Image

    from hf_graph4mm.tiny import tiny_graph4mm, tiny_gsit

    model, processor = tiny_graph4mm()
    model.save_pretrained(folder / "demo_output" / "graph4mm")
    processor.save_pretrained(folder / "demo_output" / "graph4mm")
    tiny_gsit().save_pretrained(folder / "demo_output" / "gsit")
    pixels = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype("uint8")
    Image.fromarray(pixels).save(folder / "figure.jpg")
    bin_dir = folder / ".bin"
    bin_dir.mkdir()
    shim = bin_dir / "hf-graph4mm"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m hf_graph4mm_cli "$@"\n')
    shim.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO_ROOT),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }


def test_block_parser_reads_fences_languages_and_markers():
    text = "\n".join(
        ["<!-- not-run: needs a GPU -->", "```bash", "make x", "```", "text", "- item", "  ```python",
         "  print(1)", "  ```", "```", "plain", "```"]
    )  # fmt: skip
    blocks = code_blocks(text)
    assert [(b.language, b.code, b.line, b.skip_reason) for b in blocks] == [
        ("bash", "make x\n", 2, "needs a GPU"),
        ("python", "print(1)\n", 7, None),
        ("", "plain\n", 10, None),
    ]


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_not_run_markers_give_a_reason(document):
    for line in document.read_text(encoding="utf-8").splitlines():
        if "not-run" in line:
            marker = NOT_RUN.match(line)
            assert marker and marker["reason"], f"{document.name}: {line!r} needs `<!-- not-run: reason -->`"


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_every_code_block_runs(document, tmp_path):
    blocks = [b for b in code_blocks(document.read_text(encoding="utf-8")) if b.language in RUNNABLE]
    runnable = [asdict(b) for b in blocks if b.skip_reason is None]
    if not runnable:
        pytest.skip(f"{document.name} has no block to run")
    env = prepare_folder(tmp_path)
    (tmp_path / ".blocks.json").write_text(json.dumps(runnable))
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, str(tmp_path / ".blocks.json"), document.name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "ALL BLOCKS RAN" in result.stdout, output[-6000:]
