"""The tiny tokenizer, backbone configs and image processor, kept importable here; they live in
:mod:`hf_graph4mm.testing.tiny`."""

from .testing.tiny import (  # noqa: F401
    BOS_TOKEN,
    EOS_TOKEN,
    IMAGE_TOKEN,
    PAD_TOKEN,
    TINY_IMAGE_SIZE,
    UNK_TOKEN,
    build_tiny_image_processor,
    build_tiny_tokenizer,
    tiny_clip_vision_config,
    tiny_llama_config,
    tiny_opt_config,
)
