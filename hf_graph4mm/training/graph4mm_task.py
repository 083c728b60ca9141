"""Graph4MM fine-tuning pieces: backbones, processor, datasets and generation for evaluation."""

from __future__ import annotations

import torch

from .arguments import DataArguments, ModelArguments, limit_samples

TINY_BACKBONES = ("tiny", "tiny-llama")


def _structure_overrides(model_args: ModelArguments) -> dict:
    frozen = (
        {}
        if model_args.freeze_language_model is None
        else {"freeze_language_model": model_args.freeze_language_model}
    )
    return dict(
        **frozen,
        structure=model_args.structure,
        fusion=model_args.fusion,
        text_structure=model_args.text_structure,
        image_structure=model_args.image_structure,
        diffusion_steps=model_args.diffusion_steps,
        num_query_tokens_per_image=model_args.num_query_tokens_per_image,
        max_image_nodes=model_args.max_image_nodes,
        max_text_nodes=model_args.max_text_nodes,
        max_hops=model_args.max_hops,
    )


def _tiny_backbones(model_args: ModelArguments, data_args: DataArguments):
    from ..modeling.graph4mm import Graph4MMConfig, Graph4MMForConditionalGeneration
    from ..testing import (
        IMAGE_TOKEN_ID,
        TINY_TRAINING_QFORMER,
        build_tiny_image_processor,
        build_tiny_tokenizer,
        tiny_backbones,
    )

    tokenizer = build_tiny_tokenizer(model_max_length=data_args.max_length)
    backbone = "llama" if model_args.language_model == "tiny-llama" else "opt"
    config = Graph4MMConfig(
        **tiny_backbones(
            backbone, TINY_TRAINING_QFORMER, max_position_embeddings=max(512, data_args.max_length)
        ),
        image_token_id=IMAGE_TOKEN_ID,
        **_structure_overrides(model_args),
    )
    if model_args.freeze_language_model is None:  # a random tiny LM has no knowledge to preserve
        config.freeze_language_model = False
    return Graph4MMForConditionalGeneration(config), tokenizer, build_tiny_image_processor()


def _pretrained_backbones(model_args: ModelArguments, data_args: DataArguments):
    from transformers import AutoImageProcessor, AutoTokenizer

    from ..modeling.graph4mm import Graph4MMForConditionalGeneration
    from ..testing import IMAGE_TOKEN

    tokenizer = AutoTokenizer.from_pretrained(model_args.language_model)
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    if tokenizer.pad_token is None:  # Llama tokenizers ship without one
        tokenizer.pad_token = tokenizer.eos_token
    image_processor = AutoImageProcessor.from_pretrained(model_args.vision_model)
    model = Graph4MMForConditionalGeneration.from_backbones(
        model_args.vision_model,
        model_args.language_model,
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        **_structure_overrides(model_args),
    )
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    return model, tokenizer, image_processor


def build_graph4mm(model_args: ModelArguments, data_args: DataArguments):
    """(model, processor) from a saved checkpoint, the built-in tiny backbones, or pretrained ones."""
    from ..modeling.graph4mm import Graph4MMForConditionalGeneration
    from ..processing import Graph4MMProcessor

    load_kwargs = {}
    if model_args.attn_implementation:
        load_kwargs["attn_implementation"] = model_args.attn_implementation
    if model_args.model_name_or_path:
        model = Graph4MMForConditionalGeneration.from_pretrained(model_args.model_name_or_path, **load_kwargs)
        return model, Graph4MMProcessor.from_pretrained(model_args.model_name_or_path)
    if model_args.vision_model in TINY_BACKBONES or model_args.language_model in TINY_BACKBONES:
        if not (model_args.vision_model in TINY_BACKBONES and model_args.language_model in TINY_BACKBONES):
            raise ValueError("use tiny backbones for both vision_model and language_model, or for neither")
        model, tokenizer, image_processor = _tiny_backbones(model_args, data_args)
    else:
        model, tokenizer, image_processor = _pretrained_backbones(model_args, data_args)
    if model_args.attn_implementation:
        model.set_attn_implementation(model_args.attn_implementation)
    processor = Graph4MMProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        num_query_tokens=model.config.num_query_tokens,
        num_hops=data_args.num_hops,
        max_text_nodes=model.config.max_text_nodes,
        max_image_nodes=model.config.max_image_nodes,
        max_length=data_args.max_length,
        max_target_length=data_args.max_target_length,
        max_node_tokens=data_args.max_node_tokens,
        include_neighbor_text=data_args.include_neighbor_text,
    )
    return model, processor


def apply_peft(model, model_args: ModelArguments):
    """Wrap the LM in LoRA or prefix-tuning adapters (restricted to the LM's modules)."""
    if model_args.lora_r <= 0 and model_args.prefix_tokens <= 0:
        return model
    from peft import LoraConfig, get_peft_model

    if model_args.prefix_tokens > 0:
        raise ValueError(
            "--prefix_tokens: prefix tuning wraps the language model itself, which the CLI does not do; "
            "the README's PEFT section shows it in Python. The CLI trains LoRA adapters: --lora_r 8"
        )
    config = LoraConfig(
        r=model_args.lora_r,
        lora_alpha=model_args.lora_alpha,
        target_modules=r".*language_model.*\.(q_proj|v_proj)",
        lora_dropout=0.05,
    )
    return get_peft_model(model, config)


def load_graph4mm_dataset(data_args: DataArguments):
    """(DatasetDict of rows with graph / target_node / target_text, shared graph or None): any layout
    :func:`~hf_graph4mm.data.layouts.open_dataset` reads (named releases, our parquet / arrow folders,
    the Ele-Fashion shared-graph layout, files)."""
    from ..data.layouts import open_dataset

    source = open_dataset(
        data_args.dataset,
        family="graph4mm",
        raw_dir=data_args.raw_dir,
        images_dir=data_args.images_dir,
        seen_classes=data_args.seen_classes,
    )
    return limit_samples(source.splits, data_args), source.shared_graph


@torch.no_grad()
def generate_texts(
    model, processor, rows, prompt: str | None, batch_size: int = 8, shared_graph=None, **generate_kwargs
) -> list[str]:
    """Generate an answer for every row (graph + target_node) with ``model.generate``, batched, left-padded."""
    from ..processing import Graph4MMCollator

    collator = Graph4MMCollator(
        processor, padding_side="left", with_labels=False, prompt=prompt, graph=shared_graph
    )
    model.eval()
    device = next(model.parameters()).device
    texts: list[str] = []
    rows = list(rows)
    for start in range(0, len(rows), batch_size):
        batch = collator(rows[start : start + batch_size])
        batch = {key: value.to(device) for key, value in batch.items()}
        new_tokens = model.generate(**batch, **generate_kwargs)[
            :, batch["input_ids"].shape[1] :
        ]  # drop the prompt
        texts.extend(text.strip() for text in processor.batch_decode(new_tokens, skip_special_tokens=True))
    return texts
