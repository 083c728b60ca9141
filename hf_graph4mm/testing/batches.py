"""Synthetic model inputs that follow docs/CONTRACTS.md: a Graph4MM batch as the collator returns it, a GsiT
batch of right-padded feature sequences. Random contents, fixed seeds; for tests and benchmarks."""

from __future__ import annotations

import torch

from .tiny import BOS, EOS, GSIT_DIMS, IMAGE_TOKEN_ID, PAD, TINY_IMAGE_SIZE


def random_adjacency(generator, num_real: int, num_slots: int, edge_prob: float = 0.5) -> torch.Tensor:
    """``[slots, slots]`` symmetric bool adjacency with self-loops on the real nodes, padding all False."""
    upper = torch.rand(num_real, num_real, generator=generator) < edge_prob
    real = upper | upper.T | torch.eye(num_real, dtype=torch.bool)
    adjacency = torch.zeros(num_slots, num_slots, dtype=torch.bool)
    adjacency[:num_real, :num_real] = real
    return adjacency


def graph4mm_batch(
    config,
    num_text_nodes=(3, 2),
    num_image_nodes=(2, 1),
    prompt_lengths=(4, 2),
    answer_lengths=(3, 2),
    text_length: int = 5,
    padding_side: str = "right",
    with_labels: bool = True,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """A batch as ``Graph4MMCollator`` returns it for a (tiny) ``Graph4MMConfig``; one entry of each tuple per sample."""
    generator = torch.Generator().manual_seed(seed)
    batch_size = len(num_text_nodes)
    text_slots, image_slots = max(max(num_text_nodes), 1), max(max(num_image_nodes), 1)
    placeholders = [IMAGE_TOKEN_ID] * config.num_query_tokens

    def tokens(count):
        return torch.randint(4, 260, (count,), generator=generator).tolist()

    sequences, label_rows = [], []
    for prompt_length, answer_length in zip(prompt_lengths, answer_lengths):
        prompt = [BOS, *tokens(prompt_length), *placeholders]
        answer = [*tokens(answer_length), EOS] if with_labels else []
        sequences.append(prompt + answer)
        label_rows.append([-100] * len(prompt) + answer)
    length = max(len(sequence) for sequence in sequences)
    input_ids = torch.full((batch_size, length), PAD)
    attention_mask = torch.zeros(batch_size, length, dtype=torch.long)
    labels = torch.full((batch_size, length), -100)
    for row, (sequence, label_row) in enumerate(zip(sequences, label_rows)):
        span = slice(0, len(sequence)) if padding_side == "right" else slice(length - len(sequence), length)
        input_ids[row, span] = torch.tensor(sequence)
        attention_mask[row, span] = 1
        labels[row, span] = torch.tensor(label_row)

    text_input_ids = torch.full((batch_size, text_slots, text_length), PAD)
    text_attention_mask = torch.zeros(batch_size, text_slots, text_length, dtype=torch.long)
    text_node_mask = torch.zeros(batch_size, text_slots, dtype=torch.bool)
    text_adjacency = torch.zeros(batch_size, text_slots, text_slots, dtype=torch.bool)
    text_hops = torch.zeros(batch_size, text_slots, dtype=torch.long)
    pixel_values = torch.zeros(batch_size, image_slots, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE)
    image_node_mask = torch.zeros(batch_size, image_slots, dtype=torch.bool)
    image_adjacency = torch.zeros(batch_size, image_slots, image_slots, dtype=torch.bool)
    image_hops = torch.zeros(batch_size, image_slots, dtype=torch.long)
    for row in range(batch_size):
        for node in range(num_text_nodes[row]):
            node_length = int(torch.randint(2, text_length + 1, (1,), generator=generator))
            text_input_ids[row, node, :node_length] = torch.tensor([BOS, *tokens(node_length - 1)])
            text_attention_mask[row, node, :node_length] = 1
        text_node_mask[row, : num_text_nodes[row]] = True
        text_adjacency[row] = random_adjacency(generator, num_text_nodes[row], text_slots)
        text_hops[row, 1 : num_text_nodes[row]] = torch.randint(1, 3, (max(num_text_nodes[row] - 1, 0),))
        count = num_image_nodes[row]
        pixel_values[row, :count] = torch.randn(
            count, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE, generator=generator
        )
        image_node_mask[row, :count] = True
        image_adjacency[row] = random_adjacency(generator, count, image_slots)
        image_hops[row, 1:count] = torch.randint(1, 3, (max(count - 1, 0),), generator=generator)
    batch = dict(
        input_ids=input_ids,
        attention_mask=attention_mask,
        text_input_ids=text_input_ids,
        text_attention_mask=text_attention_mask,
        text_node_mask=text_node_mask,
        text_adjacency=text_adjacency,
        text_hops=text_hops,
        pixel_values=pixel_values,
        image_node_mask=image_node_mask,
        image_adjacency=image_adjacency,
        image_hops=image_hops,
    )
    if with_labels:
        batch["labels"] = labels
    return batch


def select_sample(batch: dict[str, torch.Tensor], index: int) -> dict[str, torch.Tensor]:
    """Sample ``index`` of a batch, with the LM-sequence padding of that sample removed."""
    sample = {key: value[index : index + 1] for key, value in batch.items()}
    keep = sample["attention_mask"][0].bool()
    for key in ("input_ids", "attention_mask", "labels"):
        if key in sample:
            sample[key] = sample[key][:, keep]
    return sample


def gsit_batch(batch=3, times=(9, 12, 8), seed=0):
    """Features for (text, audio, vision) with varied real lengths, including one shorter than the audio kernel."""
    generator = torch.Generator().manual_seed(seed)
    inputs = {}
    real_lengths = {"text": [9, 4, 2], "audio": [12, 3, 7], "vision": [8, 1, 5]}  # audio 3 < its kernel 5
    for m, t in zip(("text", "audio", "vision"), times):
        inputs[f"{m}_features"] = torch.randn(batch, t, GSIT_DIMS[m], generator=generator)
        inputs[f"{m}_lengths"] = torch.tensor(real_lengths[m][:batch]).clamp(max=t)
    return inputs
