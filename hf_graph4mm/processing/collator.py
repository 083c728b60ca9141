"""Padding a batch of variable-size subgraph examples into the tensors of ``docs/CONTRACTS.md``.

Padded nodes get ``mask = False``, no edges (adjacency rows and columns all False, no
self-loop), hop 0 and zero pixels; padded tokens get the pad id, attention 0, label -100.
Every batch has at least one text-node and one image-node slot so that the model's
shapes never collapse to zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import BatchFeature

IGNORE_INDEX = -100


def _pad_1d(rows: Sequence[Sequence[int]], length: int, value: int, left: bool) -> np.ndarray:
    out = np.full((len(rows), length), value, dtype=np.int64)
    for index, row in enumerate(rows):
        if len(row):
            if left:
                out[index, length - len(row) :] = row
            else:
                out[index, : len(row)] = row
    return out


def pad_examples(
    examples: Sequence[dict[str, Any]],
    pad_token_id: int,
    image_size: tuple[int, int],
    padding_side: str = "right",
    return_tensors: str | None = "pt",
) -> BatchFeature:
    """Pad examples from :meth:`Graph4MMProcessor.process_example` into one batch.

    Args:
        examples: per-example dicts (unpadded lists / arrays).
        pad_token_id: the tokenizer's pad id.
        image_size: ``(height, width)`` of processed images, for batches with no image at all.
        padding_side: "right" (training) or "left" (batched generation) for the LM sequence.
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    if not examples:
        raise ValueError("cannot collate an empty batch")
    left = padding_side == "left"
    batch = len(examples)

    lengths = [len(example["input_ids"]) for example in examples]
    seq_len = max(lengths)
    input_ids = _pad_1d([e["input_ids"] for e in examples], seq_len, pad_token_id, left)
    attention_mask = _pad_1d([[1] * n for n in lengths], seq_len, 0, left)
    data: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
    with_labels = ["labels" in e for e in examples]
    if any(with_labels):
        if not all(with_labels):
            raise ValueError("some examples in the batch have labels (a target text) and some do not")
        data["labels"] = _pad_1d([e["labels"] for e in examples], seq_len, IGNORE_INDEX, left)

    # text nodes
    num_text = max(1, max(len(e["text_input_ids"]) for e in examples))
    node_len = max(1, max((len(t) for e in examples for t in e["text_input_ids"]), default=1))
    text_ids = np.full((batch, num_text, node_len), pad_token_id, dtype=np.int64)
    text_attention = np.zeros((batch, num_text, node_len), dtype=np.int64)
    for b, example in enumerate(examples):
        for n, tokens in enumerate(example["text_input_ids"]):
            text_ids[b, n, : len(tokens)] = tokens
            text_attention[b, n, : len(tokens)] = 1
    data["text_input_ids"] = text_ids
    data["text_attention_mask"] = text_attention
    data.update(_pad_nodes(examples, "text", num_text))

    # image nodes
    num_images = max(1, max(len(e["image_hops"]) for e in examples))
    height, width = image_size
    pixels = np.zeros((batch, num_images, 3, height, width), dtype=np.float32)
    for b, example in enumerate(examples):
        if example.get("pixel_values") is not None and len(example["pixel_values"]):
            values = np.asarray(example["pixel_values"], dtype=np.float32)
            pixels[b, : values.shape[0]] = values
    data["pixel_values"] = pixels
    data.update(_pad_nodes(examples, "image", num_images))

    if return_tensors == "pt":
        data = {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in data.items()}
    return BatchFeature(data=data, tensor_type=None)


def _pad_nodes(examples: Sequence[dict[str, Any]], modality: str, num_slots: int) -> dict[str, np.ndarray]:
    """Node mask, adjacency and hops of one modality, padded to ``num_slots`` nodes."""
    batch = len(examples)
    mask = np.zeros((batch, num_slots), dtype=bool)
    adjacency = np.zeros((batch, num_slots, num_slots), dtype=bool)
    hops = np.zeros((batch, num_slots), dtype=np.int64)
    for b, example in enumerate(examples):
        node_hops = np.asarray(example[f"{modality}_hops"], dtype=np.int64)
        count = node_hops.shape[0]
        mask[b, :count] = True
        hops[b, :count] = node_hops
        if count:
            adjacency[b, :count, :count] = np.asarray(example[f"{modality}_adjacency"], dtype=bool)
    return {f"{modality}_node_mask": mask, f"{modality}_adjacency": adjacency, f"{modality}_hops": hops}


class Graph4MMCollator:
    """A ``DataCollator`` for ``Trainer``: raw rows (graph, target) or processed examples -> a batch.

    Raw rows carry a ``graph`` column in ``MultimodalGraph.to_dict()`` layout (or use the
    collator's shared ``graph``, for datasets such as Ele-Fashion that store one big graph
    once) and a ``target_node``; optional ``prompt`` / ``target_text``. They are processed on
    the fly, so pixels never have to be stored in the dataset.

    Args:
        processor: a :class:`Graph4MMProcessor`.
        padding_side: "right" for training, "left" for batched generation.
        with_labels: use ``target_text`` as the answer to train on (False at inference).
        prompt: the instruction for rows without a ``prompt`` column.
        graph: the graph shared by rows without a ``graph`` column (a ``MultimodalGraph`` or its
            ``to_dict()``, converted once).
        vision_cache: ``{image key: [vision_width] tensor}`` of precomputed (frozen) vision
            encoder outputs, with a ``width`` attribute; batches then carry ``image_embeds
            [B, Np, vision_width]`` instead of ``pixel_values`` and images are never decoded.
        model: the model (or its config) the batches are for: checked once here against the
            processor (``Graph4MMProcessor.check_model``: ``num_query_tokens``, ``<image>`` id), so a
            mismatch fails with what differs before any step.

    With ``Trainer``, set ``TrainingArguments(remove_unused_columns=False)``: otherwise Trainer drops
    the ``graph`` / ``target_node`` / ``target_text`` columns (``forward`` does not name them) before
    this collator sees the rows.
    """

    def __init__(
        self,
        processor,
        padding_side: str = "right",
        with_labels: bool = True,
        prompt=None,
        graph=None,
        vision_cache=None,
        model=None,
    ):
        if model is not None:
            processor.check_model(model)
        if isinstance(graph, dict):  # a graph dict (e.g. a `graph` config row): built once, not per example
            from .graph import MultimodalGraph

            graph = MultimodalGraph.from_dict(graph)
        self.processor = processor
        self.padding_side = padding_side
        self.with_labels = with_labels
        self.prompt = prompt
        self.graph = graph
        self.vision_cache = vision_cache

    def _graph_of(self, row: dict[str, Any]):
        if "graph" in row:
            return row["graph"]
        if self.graph is None:
            raise ValueError(
                f"row {row.get('id', '?')!r} has no 'graph' column and the collator has no shared graph"
            )
        return self.graph

    def __call__(self, features: Sequence[dict[str, Any]]) -> BatchFeature:
        if not features:
            raise ValueError("cannot collate an empty batch")
        if not any(key in features[0] for key in ("input_ids", "target_node", "graph")):
            raise ValueError(
                f"rows reached the collator with only the columns {sorted(features[0])}: no 'target_node' "
                "or 'graph'. With Trainer, set TrainingArguments(remove_unused_columns=False) so it keeps "
                "the columns forward() does not name"
            )
        examples = []
        for row in features:
            if "input_ids" in row:  # already processed
                examples.append(row)
                continue
            if "target_node" not in row:
                raise ValueError(f"row {row.get('id', '?')!r} has a graph but no 'target_node'")
            examples.append(
                self.processor.process_example(
                    self._graph_of(row),
                    row["target_node"],
                    prompt=row.get("prompt", self.prompt),
                    target_text=row.get("target_text") if self.with_labels else None,
                    load_images=self.vision_cache is None,
                )
            )
        batch = pad_examples(
            examples,
            pad_token_id=self.processor.tokenizer.pad_token_id,
            image_size=self.processor._image_size() if self.vision_cache is None else (0, 0),
            padding_side=self.padding_side,
        )
        if self.vision_cache is not None:
            del batch["pixel_values"]
            batch["image_embeds"] = self._cached_image_embeds(examples, batch["image_node_mask"].shape[1])
        return batch

    def _cached_image_embeds(self, examples, num_slots: int) -> torch.Tensor:
        """``[B, Np, vision_width]`` looked up by image key; zeros on padded slots."""
        embeds = torch.zeros(len(examples), num_slots, self.vision_cache.width)
        for b, example in enumerate(examples):
            if "image_keys" not in example:
                raise ValueError(
                    "an already processed example has no image_keys to look up in the vision cache"
                )
            for n, key in enumerate(example["image_keys"]):
                try:
                    embeds[b, n] = self.vision_cache[key]
                except KeyError:
                    raise ValueError(
                        f"image {key!r} is not in the vision-feature cache: rebuild it"
                    ) from None
        return embeds
