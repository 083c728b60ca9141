"""Test data and tiny models, for the tests, the benchmarks, the demo and the CLI's ``tiny`` backbones.

- :mod:`.tiny`: the tiny tokenizer, backbone configs, image processor and tiny Graph4MM / GsiT
  configs (re-exported here);
- :mod:`.samples`: small files in the real release formats (the bundled ``sample_data/``);
- :mod:`.batches`: synthetic model inputs in the batch layout of docs/CONTRACTS.md;
- :mod:`.models`: tiny random models ready to save or wrap in a pipeline, and raw pipeline inputs
  (re-exported here);
- :mod:`.kernel_cases`: attention inputs every backend must agree on, and the check against eager;
- :mod:`.synthetic`: the generated structure tasks of the ablation;
- :mod:`.isolated`: running a script where hf_graph4mm cannot be imported;
- :mod:`.sentiment_features`: users' own ragged sentiment features in the parquet and ``.npy`` layouts.
"""

from .batches import graph4mm_batch, gsit_batch, random_adjacency, select_sample
from .isolated import run_without_package
from .models import NARROW_GSIT_DIMS, sample_graph, sentiment_inputs, tiny_graph4mm, tiny_gsit
from .tiny import (
    BOS,
    BOS_TOKEN,
    EOS,
    EOS_TOKEN,
    GSIT_DIMS,
    IMAGE_TOKEN,
    IMAGE_TOKEN_ID,
    PAD,
    PAD_TOKEN,
    TINY_IMAGE_SIZE,
    TINY_QFORMER,
    TINY_TRAINING_QFORMER,
    UNK_TOKEN,
    VOCAB_SIZE,
    build_tiny_image_processor,
    build_tiny_tokenizer,
    tiny_backbones,
    tiny_clip_vision_config,
    tiny_graph4mm_config,
    tiny_gsit_config,
    tiny_llama_config,
    tiny_opt_config,
)

__all__ = [
    "graph4mm_batch",
    "gsit_batch",
    "random_adjacency",
    "select_sample",
    "NARROW_GSIT_DIMS",
    "sample_graph",
    "sentiment_inputs",
    "tiny_graph4mm",
    "tiny_gsit",
    "BOS",
    "BOS_TOKEN",
    "EOS",
    "EOS_TOKEN",
    "GSIT_DIMS",
    "IMAGE_TOKEN",
    "IMAGE_TOKEN_ID",
    "PAD",
    "PAD_TOKEN",
    "TINY_IMAGE_SIZE",
    "TINY_QFORMER",
    "TINY_TRAINING_QFORMER",
    "UNK_TOKEN",
    "VOCAB_SIZE",
    "build_tiny_image_processor",
    "build_tiny_tokenizer",
    "run_without_package",
    "tiny_backbones",
    "tiny_clip_vision_config",
    "tiny_graph4mm_config",
    "tiny_gsit_config",
    "tiny_llama_config",
    "tiny_opt_config",
]
