"""Tiny models built in-process, no downloads: for the tests, the benchmarks, the demo and the CLI's
``tiny`` backbones. Every tiny config is defined here and only here.

- a byte-level BPE tokenizer (256 byte symbols, no merges, plus special tokens) built
  with the ``tokenizers`` library and wrapped as a ``PreTrainedTokenizerFast``;
- tiny OPT-style and Llama-style causal LM configs sized to that vocabulary;
- a tiny CLIP vision config and a matching CLIP image processor;
- the MM-QFormer settings and the tiny Graph4MM and GsiT configs built from all of the above.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..modeling.graph4mm import Graph4MMConfig
from ..modeling.gsit import GsiTConfig

IMAGE_TOKEN = "<image>"
PAD_TOKEN = "<pad>"
BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
UNK_TOKEN = "<unk>"
TINY_IMAGE_SIZE = 32
VOCAB_SIZE = 261  # the tiny tokenizer: 4 specials + 256 bytes + <image>
IMAGE_TOKEN_ID = 260
PAD, BOS, EOS = 0, 1, 2

# MM-QFormer settings (read-only: copy them with dict(...)). The tests' tiny Graph4MM: 16 wide, no dropout.
TINY_QFORMER = MappingProxyType(
    dict(
        hidden_size=16,
        num_attention_heads=2,
        intermediate_size=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
)
# The CLI's tiny backbones (the demo, the structure ablation, the benchmarks): 32 wide, enough to learn
# the sample tasks.
TINY_TRAINING_QFORMER = MappingProxyType(dict(hidden_size=32, num_attention_heads=4, intermediate_size=64))


def _byte_alphabet() -> list[str]:
    """The 256 printable stand-ins for bytes used by byte-level BPE (GPT-2's mapping)."""
    from tokenizers import pre_tokenizers

    return sorted(pre_tokenizers.ByteLevel.alphabet())


def build_tiny_tokenizer(model_max_length: int = 1024):
    """A byte-level BPE ``PreTrainedTokenizerFast``: every UTF-8 string round-trips exactly.

    Ids 0-3 are ``<pad>``, ``<s>``, ``</s>``, ``<unk>``; 4-259 are the bytes; 260 is the
    image placeholder ``<image>``. ``<s>`` is prepended to every encoded text, like OPT.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = [PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, UNK_TOKEN]
    vocab = {token: index for index, token in enumerate(specials)}
    for symbol in _byte_alphabet():
        vocab[symbol] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK_TOKEN))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A", pair=f"{BOS_TOKEN} $A $B", special_tokens=[(BOS_TOKEN, vocab[BOS_TOKEN])]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        model_max_length=model_max_length,
        padding_side="right",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    return tokenizer


def tiny_opt_config(vocab_size: int, **overrides):
    """A 2-layer, 32-wide OPT config (a few thousand parameters per layer)."""
    from transformers import OPTConfig

    kwargs = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        word_embed_proj_dim=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        ffn_dim=64,
        max_position_embeddings=512,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        dropout=0.0,
        attention_dropout=0.0,
    )
    kwargs.update(overrides)
    return OPTConfig(**kwargs)


def tiny_llama_config(vocab_size: int, **overrides):
    """A 2-layer, 32-wide Llama config with grouped-query attention (4 heads, 2 KV heads)."""
    from transformers import LlamaConfig

    kwargs = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
    )
    kwargs.update(overrides)
    return LlamaConfig(**kwargs)


def tiny_clip_vision_config(**overrides):
    """A 2-layer CLIP vision config on 32x32 images with 8x8 patches (16 patches + CLS)."""
    from transformers import CLIPVisionConfig

    kwargs = dict(
        hidden_size=32,
        intermediate_size=64,
        projection_dim=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=TINY_IMAGE_SIZE,
        patch_size=8,
    )
    kwargs.update(overrides)
    return CLIPVisionConfig(**kwargs)


def build_tiny_image_processor():
    """A CLIP image processor resizing and centre-cropping to the tiny 32x32 input."""
    try:  # the PIL backend needs no torchvision (which has no CPU build here)
        from transformers import CLIPImageProcessorPil as CLIPImageProcessor
    except ImportError:  # older transformers: one class for all backends
        from transformers import CLIPImageProcessor

    return CLIPImageProcessor(
        size={"shortest_edge": TINY_IMAGE_SIZE},
        crop_size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE},
    )


def tiny_backbones(backbone: str = "opt", qformer: Mapping = TINY_QFORMER, **text_overrides) -> dict:
    """``vision_config``, ``text_config`` and ``qformer_config`` of a tiny Graph4MM.

    ``backbone``: ``"opt"``, else a Llama; ``text_overrides`` go to the LM config.
    """
    make_text_config = tiny_opt_config if backbone == "opt" else tiny_llama_config
    return dict(
        vision_config=tiny_clip_vision_config(),
        text_config=make_text_config(VOCAB_SIZE, **text_overrides),
        qformer_config=dict(qformer),
    )


def tiny_graph4mm_config(backbone: str = "opt", **overrides) -> Graph4MMConfig:
    """The tests' Graph4MM: :func:`tiny_backbones`, 2 query tokens per image, at most 3 image and 4 text nodes."""
    kwargs = dict(
        **tiny_backbones(backbone),
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
