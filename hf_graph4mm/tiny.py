"""Tiny random models for quick experiments (seconds to build on a CPU, nothing downloaded): the tiny
tokenizer, backbone configs and image processor the CLI's ``tiny`` backbones use, tiny Graph4MM / GsiT configs,
and ready models (:func:`tiny_graph4mm` returns a model and its processor). They live in
:mod:`hf_graph4mm.testing`; random weights generate noise: use them to check a pipeline, not to measure."""

import copy

from .testing.models import tiny_graph4mm as _shared_tiny_graph4mm
from .testing.models import tiny_gsit  # noqa: F401
from .testing.tiny import (  # noqa: F401
    BOS_TOKEN,
    EOS_TOKEN,
    GSIT_DIMS,
    IMAGE_TOKEN,
    IMAGE_TOKEN_ID,
    PAD_TOKEN,
    TINY_IMAGE_SIZE,
    UNK_TOKEN,
    build_tiny_image_processor,
    build_tiny_tokenizer,
    tiny_backbones,
    tiny_clip_vision_config,
    tiny_graph4mm_config,
    tiny_gsit_config,
    tiny_llama_config,
    tiny_opt_config,
)


def tiny_graph4mm():
    """A random tiny Graph4MM (tiny CLIP + tiny OPT; the same seeded weights every call) and its processor,
    each call a new copy that is yours to change (wrap in adapters, train)."""
    model, processor = _shared_tiny_graph4mm()
    return copy.deepcopy(model), copy.deepcopy(processor)
