"""Shared builders for the pipeline, hub and predict tests: tiny checkpoints and inputs (cached per process)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hf_graph4mm import GsiTForSequenceClassification, MultimodalGraph
from hf_graph4mm.modeling.graph4mm import Graph4MMForConditionalGeneration
from hf_graph4mm.processing import Graph4MMProcessor
from hf_graph4mm.testing import (  # noqa: F401  (run_without_package: re-exported)
    build_tiny_image_processor,
    build_tiny_tokenizer,
    run_without_package,
    tiny_graph4mm_config,
    tiny_gsit_config,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
GSIT_DIMS = {"text": 6, "audio": 3, "vision": 4}


@functools.cache
def tiny_graph4mm():
    """A random tiny Graph4MM (OPT backbone) and its processor."""
    torch.manual_seed(0)
    config = tiny_graph4mm_config()
    model = Graph4MMForConditionalGeneration(config).eval()
    processor = Graph4MMProcessor(
        image_processor=build_tiny_image_processor(),
        tokenizer=build_tiny_tokenizer(),
        num_query_tokens=config.num_query_tokens,
        max_length=96,
        max_target_length=16,
        max_node_tokens=12,
        max_text_nodes=config.max_text_nodes,
        max_image_nodes=config.max_image_nodes,
    )
    return model, processor


def tiny_gsit(num_labels: int = 1, **overrides) -> GsiTForSequenceClassification:
    """A random GsiT narrower than ``tiny_gsit_config()`` (width 8, one layer) with this module's GSIT_DIMS."""
    kwargs = dict(
        {f"{modality}_dim": dim for modality, dim in GSIT_DIMS.items()},
        hidden_size=8,
        num_layers=1,
        text_kernel_size=2,
        audio_kernel_size=1,
        vision_kernel_size=3,
        num_labels=num_labels,
    )
    kwargs.update(overrides)
    torch.manual_seed(1)
    return GsiTForSequenceClassification(tiny_gsit_config(**kwargs)).eval()


def sample_graph(name: str = "page") -> MultimodalGraph:
    """Five nodes: texts, images and one node with both; a path 0-1-2-3 and an edge 1-4."""
    rng = np.random.default_rng(0)
    image = Image.fromarray((rng.random((40, 40, 3)) * 255).astype("uint8"))
    return MultimodalGraph(
        texts=["a cat page", None, "cats sleep", "the end", "a caption"],
        images=[None, image, image, None, image],
        edges=[(0, 1), (1, 2), (2, 3), (1, 4)],
        name=name,
    )


def sentiment_inputs(count: int, seed: int = 0) -> list[dict]:
    """Utterances with different sequence lengths per modality."""
    rng = np.random.default_rng(seed)
    return [
        {
            m: rng.standard_normal((int(rng.integers(3, 8)), dim)).astype(np.float32)
            for m, dim in GSIT_DIMS.items()
        }
        for _ in range(count)
    ]


def seed_hub_cache(hf_home: Path, repo_id: str, files: dict[str, bytes]) -> None:
    """Lay out ``files`` as the cached snapshot of ``repo_id`` (what a download would leave)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / commit
    for name, content in files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_bytes(content)
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
