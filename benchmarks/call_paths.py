"""How far a forward travels through our code before it reaches each attention kernel.

Runs one forward of the tiny Graph4MM and GsiT models with a profiler hook that records the Python
call stack each time one of the attention backends is entered, keeps the frames in hf_graph4mm's own
files, and prints per kernel: the files and the calls (hops) from the model's ``forward``. The table in
docs/ARCHITECTURE.md comes from here:

    python benchmarks/call_paths.py
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import hf_graph4mm  # noqa: E402
from hf_graph4mm import Graph4MMForConditionalGeneration, GsiTForSequenceClassification  # noqa: E402
from hf_graph4mm.testing import graph4mm_batch, gsit_batch, tiny_graph4mm_config, tiny_gsit_config  # noqa: E402

PACKAGE = Path(hf_graph4mm.__file__).resolve().parent
KERNELS = {
    "hop_diffused_attention_eager",
    "hop_diffused_attention_sdpa",
    "key_masked_attention_eager",
    "key_masked_attention_sdpa",
    "interlaced_attention_eager",
    "interlaced_attention_sdpa",
}


@dataclass
class CallPath:
    """Our frames from the model's forward to one kernel's entry (inclusive), outermost first, and every
    file of ours the kernel calls into below its entry (the math it shares)."""

    kernel: str
    frames: tuple[tuple[str, str], ...]  # (file relative to the package, qualified function name)
    below: set[str]

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(file for file, _ in self.frames))

    @property
    def all_files(self) -> list[str]:
        return self.files + sorted(self.below - set(self.files))

    @property
    def hops(self) -> int:
        return len(self.frames) - 1


def _our_frames(frame) -> tuple[tuple[str, str], ...]:
    frames = []
    while frame is not None:
        path = Path(frame.f_code.co_filename).resolve()
        if PACKAGE in path.parents:
            frames.append((str(path.relative_to(PACKAGE)), frame.f_code.co_qualname))
        frame = frame.f_back
    frames.reverse()
    # from the outermost model forward on (drop pipeline / training callers above it)
    starts = [index for index, (file, name) in enumerate(frames) if name.endswith(".forward") and "modeling_" in file]
    return tuple(frames[starts[0] :]) if starts else tuple(frames)


def record_call_paths(model, inputs: dict) -> dict[str, CallPath]:
    """Run ``model(**inputs)`` once; the path to every attention kernel entered (the first time each)."""
    paths: dict[str, CallPath] = {}
    active: list[str] = []  # the kernels on the stack now

    def profiler(frame, event, arg):
        name = frame.f_code.co_name
        if event == "call":
            if name in KERNELS:
                active.append(name)
                if name not in paths:
                    paths[name] = CallPath(name, _our_frames(frame), set())
            elif active and PACKAGE in Path(frame.f_code.co_filename).resolve().parents:
                paths[active[-1]].below.add(str(Path(frame.f_code.co_filename).resolve().relative_to(PACKAGE)))
        elif event == "return" and name in KERNELS and active and active[-1] == name:
            active.pop()

    sys.setprofile(profiler)
    try:
        with torch.no_grad():
            model(**inputs)
    finally:
        sys.setprofile(None)
    return paths


def measured_paths() -> list[CallPath]:
    """Every model family under the eager and sdpa backends (the ones a CPU runs)."""
    found: dict[str, CallPath] = {}
    for name in ("eager", "sdpa"):
        torch.manual_seed(0)
        graph4mm = Graph4MMForConditionalGeneration(tiny_graph4mm_config()).eval()
        graph4mm.set_attn_implementation(name)
        found.update(record_call_paths(graph4mm, graph4mm_batch(graph4mm.config)))
        gsit = GsiTForSequenceClassification(tiny_gsit_config(attn_implementation=name)).eval()
        found.update(record_call_paths(gsit, gsit_batch()))
    return [found[kernel] for kernel in sorted(found)]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print("| kernel | files to its entry | hops | files with the kernel's own calls | path |")
    print("|---|---|---|---|---|")
    for path in measured_paths():
        chain = " -> ".join(f"{Path(file).stem}:{function}" for file, function in path.frames)
        print(f"| {path.kernel} | {len(path.files)} | {path.hops} | {len(path.all_files)} | {chain} |")


if __name__ == "__main__":
    main()
