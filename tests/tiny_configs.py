"""The tiny model configs every test builds on (one place), reusing hf_graph4mm/tiny.py's backbones."""

from __future__ import annotations

from hf_graph4mm import Graph4MMConfig, GsiTConfig
from hf_graph4mm.tiny import tiny_clip_vision_config, tiny_llama_config, tiny_opt_config

VOCAB_SIZE = 261  # the tiny tokenizer: 4 specials + 256 bytes + <image>
IMAGE_TOKEN_ID = 260
PAD, BOS, EOS = 0, 1, 2


def tiny_graph4mm_config(backbone: str = "opt", **overrides) -> Graph4MMConfig:
    text_config = (tiny_opt_config if backbone == "opt" else tiny_llama_config)(VOCAB_SIZE)
    kwargs = dict(
        vision_config=tiny_clip_vision_config(),
        text_config=text_config,
        qformer_config=dict(
            hidden_size=16,
            num_attention_heads=2,
            intermediate_size=32,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        ),
        image_token_id=IMAGE_TOKEN_ID,
        num_query_tokens_per_image=2,
        max_image_nodes=3,
        max_text_nodes=4,
    )
    kwargs.update(overrides)
    return Graph4MMConfig(**kwargs)


GSIT_DIMS = {"text": 12, "audio": 5, "vision": 7}


def tiny_gsit_config(**overrides) -> GsiTConfig:
    """GsiT with width 16, 2 heads, 2 layers and odd conv kernels (3 / 5 / 1) so lengths change per modality."""
    values = dict(
        text_dim=GSIT_DIMS["text"],
        audio_dim=GSIT_DIMS["audio"],
        vision_dim=GSIT_DIMS["vision"],
        hidden_size=16,
        num_attention_heads=2,
        num_layers=2,
        text_kernel_size=3,
        audio_kernel_size=5,
        vision_kernel_size=1,
    )
    values.update(overrides)
    return GsiTConfig(**values)
