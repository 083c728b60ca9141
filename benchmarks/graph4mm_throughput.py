"""Training throughput and peak memory of Graph4MM at the paper's shapes, on the CPU.

    python benchmarks/graph4mm_throughput.py [--steps 2] [--threads 2] [--seq-len 1024]

Random weights, built from configs only (nothing downloaded): a CLIP ViT-B/16 vision tower
and an OPT-125M-sized LM (``benchmarks/graph4mm_params.py``), the paper's Graph4MM parts
(768-wide, K = 2, one MM-QFormer block). One synthetic batch at the paper's shapes: batch 2,
``--seq-len`` LM tokens (the answer = the last 128), 12 text nodes of 64 tokens, 5 image
nodes of 224 px, all real; random symmetric subgraphs with self-loops.

Each row runs in its own subprocess (peak RSS = the child's ``VmHWM``, so rows do not share
an allocator): one warm-up step, then ``--steps`` timed training steps (forward, LM loss on
the answer tokens, backward, AdamW step on the trainable parts).

Rows: default (images through the frozen encoder every step); vision cache (the encoder's
pooled outputs given as ``image_embeds``, as ``VisionFeatureCache`` does; building it is a
one-off cost not counted here); activation checkpointing (``gradient_checkpointing_enable``);
both; and the default with both structure modules replaced by the published
``AttentionDiffusion`` (steps 3 = the same three series terms as our K = 2).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine_state import machine_state  # noqa: E402

ROWS = {
    "default": dict(),
    "vision cache (image_embeds)": dict(cache=True),
    "activation checkpointing": dict(checkpointing=True),
    "vision cache + checkpointing": dict(cache=True, checkpointing=True),
    "published AttentionDiffusion (steps 3)": dict(published=True),
}
TEXT_NODES, IMAGE_NODES, NODE_TOKENS, ANSWER_TOKENS, BATCH = 12, 5, 64, 128, 2


def build_model(published: bool):
    from transformers import OPTConfig

    from benchmarks.graph4mm_params import clip_vit_b16
    from benchmarks.published_reference import PublishedStructureAdapter
    from hf_graph4mm import Graph4MMConfig, Graph4MMForConditionalGeneration

    text_config = OPTConfig()  # opt-125m's shape
    config = Graph4MMConfig(
        vision_config=clip_vit_b16(), text_config=text_config, image_token_id=text_config.vocab_size
    )
    model = Graph4MMForConditionalGeneration(config)
    if published:
        width, heads = config.qformer_config.hidden_size, config.qformer_config.num_attention_heads
        steps = config.diffusion_steps + 1  # published steps count the terms i = 0..steps-1
        model.text_structure = PublishedStructureAdapter(width, heads, steps)
        model.image_structure = PublishedStructureAdapter(width, heads, steps)
    return model


def subgraph(generator: torch.Generator, nodes: int) -> dict[str, torch.Tensor]:
    adjacency = torch.rand(BATCH, nodes, nodes, generator=generator) < 0.3
    adjacency = adjacency | adjacency.transpose(1, 2) | torch.eye(nodes, dtype=torch.bool)
    return {
        "node_mask": torch.ones(BATCH, nodes, dtype=torch.bool),
        "adjacency": adjacency,
        "hops": torch.randint(0, 3, (BATCH, nodes), generator=generator),
    }


def build_batch(model, seq_len: int, cache: bool) -> dict[str, torch.Tensor]:
    """The collator's keys (docs/CONTRACTS.md) at the paper's shapes, random contents."""
    config = model.config
    generator = torch.Generator().manual_seed(0)
    vocab = config.text_config.vocab_size
    input_ids = torch.randint(4, vocab, (BATCH, seq_len), generator=generator)
    context_end = seq_len - ANSWER_TOKENS
    input_ids[:, context_end - config.num_query_tokens : context_end] = config.image_token_id
    labels = torch.full_like(input_ids, -100)
    labels[:, context_end:] = input_ids[:, context_end:]
    text, image = subgraph(generator, TEXT_NODES), subgraph(generator, IMAGE_NODES)
    batch = {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "labels": labels,
        "text_input_ids": torch.randint(4, vocab, (BATCH, TEXT_NODES, NODE_TOKENS), generator=generator),
        "text_attention_mask": torch.ones(BATCH, TEXT_NODES, NODE_TOKENS, dtype=torch.long),
        **{f"text_{key}": value for key, value in text.items()},
        **{f"image_{key}": value for key, value in image.items()},
    }
    size = config.vision_config.image_size
    pixel_values = torch.randn(BATCH, IMAGE_NODES, 3, size, size, generator=generator)
    if cache:  # what a VisionFeatureCache holds: the frozen encoder's pooled output per image
        batch["image_embeds"] = model.encode_images(pixel_values.flatten(0, 1)).view(BATCH, IMAGE_NODES, -1)
    else:
        batch["pixel_values"] = pixel_values
    return batch


def peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM line in /proc/self/status")


def run_child(args) -> None:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    options = ROWS[args.child]
    model = build_model(options.get("published", False))
    if options.get("checkpointing"):
        model.gradient_checkpointing_enable()
    model.train()
    batch = build_batch(model, args.seq_len, options.get("cache", False))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)

    def step():
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up: allocator, AdamW state
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - start) / args.steps
    print(
        json.dumps(
            {
                "seconds_per_step": seconds,
                "samples_per_second": BATCH / seconds,
                "peak_rss": peak_rss_bytes(),
                "trainable": sum(p.numel() for p in trainable),
            }
        )
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2, help="timed steps per row (after one warm-up step)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=1024, help="LM input tokens (paper: 1024)")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--child", choices=list(ROWS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args)
        return
    torch.set_num_threads(args.threads)  # the children set their own; this is for the machine line
    print(f"# machine at start: {machine_state()}")
    print(
        f"Graph4MM training step, CLIP ViT-B/16 + OPT-125M shapes (random weights), batch {BATCH}, "
        f"{args.seq_len} tokens, {TEXT_NODES} text nodes x {NODE_TOKENS} tokens, {IMAGE_NODES} images; "
        f"{args.threads} threads, {args.steps} timed steps per row"
    )
    print("| row | s / step | samples/s | x first row | peak RSS GiB | trainable params |")
    print("|---|---|---|---|---|---|")
    first = None
    for row in args.rows:
        command = [sys.executable, __file__, "--child", row, "--steps", str(args.steps),
                   "--threads", str(args.threads), "--seq-len", str(args.seq_len)]  # fmt: skip
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode != 0:
            print(f"| {row} | failed: {finished.stderr.strip().splitlines()[-1][:160]} |", flush=True)
            continue
        result = json.loads(finished.stdout.strip().splitlines()[-1])
        first = first or result["samples_per_second"]
        print(
            f"| {row} | {result['seconds_per_step']:.2f} | {result['samples_per_second']:.3f} | "
            f"{result['samples_per_second'] / first:.2f} | {result['peak_rss'] / 2**30:.2f} | "
            f"{result['trainable']:,} |",
            flush=True,
        )
    print(f"# machine at end: {machine_state()}")


if __name__ == "__main__":
    main()
