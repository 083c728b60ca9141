"""Tiny random models ready to save, share or wrap in a pipeline, and the raw inputs their pipelines take.

``tiny_graph4mm()`` (built once per process) and ``tiny_gsit()`` for the pipeline, hub and predict tests;
``sample_graph()`` (a :class:`MultimodalGraph` with texts, images and both) and ``sentiment_inputs()``
(utterances of different lengths per modality, sized for ``tiny_gsit()``).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from PIL import Image

from ..modeling.graph4mm import Graph4MMForConditionalGeneration
from ..modeling.gsit import GsiTForSequenceClassification
from ..processing import Graph4MMProcessor, MultimodalGraph
from .tiny import build_tiny_image_processor, build_tiny_tokenizer, tiny_graph4mm_config, tiny_gsit_config

# The feature widths of tiny_gsit() and sentiment_inputs(): narrower than tiny_gsit_config()'s GSIT_DIMS.
NARROW_GSIT_DIMS = {"text": 6, "audio": 3, "vision": 4}


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
    """A random GsiT narrower than ``tiny_gsit_config()`` (width 8, one layer) with ``NARROW_GSIT_DIMS``."""
    kwargs = dict(
        {f"{modality}_dim": dim for modality, dim in NARROW_GSIT_DIMS.items()},
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
    """Utterances with different sequence lengths per modality (``NARROW_GSIT_DIMS`` features)."""
    rng = np.random.default_rng(seed)
    return [
        {
            m: rng.standard_normal((int(rng.integers(5, 10)), dim)).astype(np.float32)
            for m, dim in NARROW_GSIT_DIMS.items()
        }
        for _ in range(count)
    ]
