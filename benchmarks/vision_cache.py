"""Training throughput of Graph4MM with and without the frozen vision-encoder cache.

Runs the same training steps (collate -> forward -> backward -> AdamW step) on the bundled
WikiWeb2M sample twice: decoding images and running the frozen vision encoder in every
step, and looking the encoder outputs up in a ``VisionFeatureCache`` built once. Prints
samples/s side by side, measured in one run.

    python benchmarks/vision_cache.py [--steps 30] [--batch-size 4] [--vision-layers 6]
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

from hf_graph4mm.processing import Graph4MMCollator
from hf_graph4mm.training.arguments import DataArguments
from hf_graph4mm.training.graph4mm_task import load_graph4mm_dataset
from hf_graph4mm.training.vision_cache import VisionFeatureCache, images_of_rows


def build(vision_layers: int, vision_width: int, image_size: int):
    from transformers import CLIPImageProcessor, CLIPVisionConfig

    from hf_graph4mm import Graph4MMConfig, Graph4MMForConditionalGeneration, Graph4MMProcessor
    from hf_graph4mm.testing import (
        IMAGE_TOKEN_ID,
        TINY_TRAINING_QFORMER,
        VOCAB_SIZE,
        build_tiny_tokenizer,
        tiny_opt_config,
    )

    data_args = DataArguments(dataset="sample", max_length=256, max_target_length=32, max_node_tokens=32)
    tokenizer = build_tiny_tokenizer()
    # A CLIP-B/16-shaped encoder is the realistic cost; this one is scaled down to stay quick on a CPU.
    vision_config = CLIPVisionConfig(
        hidden_size=vision_width,
        intermediate_size=4 * vision_width,
        num_hidden_layers=vision_layers,
        num_attention_heads=max(1, vision_width // 64),
        image_size=image_size,
        patch_size=16,
    )
    config = Graph4MMConfig(
        vision_config=vision_config,
        text_config=tiny_opt_config(VOCAB_SIZE),
        qformer_config=dict(TINY_TRAINING_QFORMER),
        image_token_id=IMAGE_TOKEN_ID,
    )
    model = Graph4MMForConditionalGeneration(config)
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    processor = Graph4MMProcessor(
        image_processor,
        tokenizer,
        num_query_tokens=config.num_query_tokens,
        max_length=256,
        max_target_length=32,
    )
    dataset, _ = load_graph4mm_dataset(data_args)
    return model, processor, dataset["train"], data_args


def samples_per_second(model, collator, rows, steps: int, batch_size: int) -> float:
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    batches = [rows[(i * batch_size) % len(rows) :][:batch_size] for i in range(steps)]
    collator([rows[0]])  # warm-up outside the timing
    start = time.perf_counter()
    for batch_rows in batches:
        loss = model(**collator(batch_rows)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--vision-layers", type=int, default=6)
    parser.add_argument("--vision-width", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, processor, train, data_args = build(args.vision_layers, args.vision_width, args.image_size)
    rows = [train[i] for i in range(len(train))]

    plain = samples_per_second(
        model, Graph4MMCollator(processor, prompt=data_args.prompt), rows, args.steps, args.batch_size
    )
    start = time.perf_counter()
    cache = VisionFeatureCache.build(model, processor, images_of_rows(rows))
    build_seconds = time.perf_counter() - start
    cached_collator = Graph4MMCollator(processor, prompt=data_args.prompt, vision_cache=cache)
    cached = samples_per_second(model, cached_collator, rows, args.steps, args.batch_size)

    print(
        f"Graph4MM training throughput, {args.steps} steps of batch {args.batch_size}, {args.threads} thread(s); "
        f"vision encoder: {args.vision_layers} layers x {args.vision_width} wide, {args.image_size}px images"
    )
    print(f"{'setting':<34}{'samples/s':>12}{'speed-up':>10}")
    print(f"{'encoder in every step':<34}{plain:>12.2f}{1.0:>10.2f}")
    print(f"{'cached encoder outputs':<34}{cached:>12.2f}{cached / plain:>10.2f}")
    print(f"cache build: {len(cache)} distinct images in {build_seconds:.2f} s (once per run, not per epoch)")


if __name__ == "__main__":
    main()
