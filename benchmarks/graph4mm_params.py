"""Parameter counts of the Graph4MM variants, tiny and paper-sized, built from configs only.

Models are instantiated on the ``meta`` device: no weights are allocated or downloaded.

    python benchmarks/graph4mm_params.py
"""

from __future__ import annotations

import torch
from transformers import CLIPVisionConfig, LlamaConfig, OPTConfig

from hf_graph4mm import Graph4MMConfig, Graph4MMForConditionalGeneration
from hf_graph4mm.testing import TINY_TRAINING_QFORMER, tiny_backbones

VARIANTS = {
    "hop_diffused": {},
    "hop_aware": {"structure": "hop_aware"},
    "none": {"structure": "none"},
    "no_text_structure": {"text_structure": False},
    "no_image_structure": {"image_structure": False},
    "mmgl_concat": {"fusion": "concat"},
}


def clip_vit_b16() -> CLIPVisionConfig:
    """openai/clip-vit-base-patch16's vision tower."""
    return CLIPVisionConfig(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        image_size=224,
        patch_size=16,
        projection_dim=512,
    )


def llama_1b() -> LlamaConfig:
    """A 1B LLaMA (Llama-3.2-1B's published shape)."""
    return LlamaConfig(
        vocab_size=128256,
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        tie_word_embeddings=True,
    )


SETTINGS = {  # the tiny rows: the CLI's tiny backbones (the demo's model)
    "tiny OPT": tiny_backbones("opt", TINY_TRAINING_QFORMER),
    "tiny Llama": tiny_backbones("llama", TINY_TRAINING_QFORMER),
    "paper OPT-125M": dict(vision_config=clip_vit_b16(), text_config=OPTConfig()),  # OPTConfig() is opt-125m
    "paper LLaMA-1B": dict(vision_config=clip_vit_b16(), text_config=llama_1b()),
}


def count(model: torch.nn.Module) -> tuple[int, int]:
    """(total, trainable); tied weights counted once (``parameters()`` de-duplicates them)."""
    parameters = list(model.parameters())
    return sum(p.numel() for p in parameters), sum(p.numel() for p in parameters if p.requires_grad)


def main() -> None:
    print(f"{'setting':<16} {'variant':<20} {'total':>15} {'trainable':>13}")
    for setting, backbones in SETTINGS.items():
        for variant, overrides in VARIANTS.items():
            config = Graph4MMConfig(image_token_id=0, **backbones, **overrides)
            with torch.device("meta"):
                model = Graph4MMForConditionalGeneration(config)
            total, trainable = count(model)
            print(f"{setting:<16} {variant:<20} {total:>15,} {trainable:>13,}")


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()
