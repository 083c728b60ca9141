"""Position controls: slot permutations keep every node's data and edges, and only MMGL concat reads slot order."""

import dataclasses

import numpy as np
import pytest
import torch

from hf_graph4mm.processing import Graph4MMCollator
from hf_graph4mm.testing.synthetic import generate_examples
from hf_graph4mm.training.positions import permute_node_slots, shuffle_node_slots
from hf_graph4mm.training.variants import Budget, build_model, build_processor, process_examples
from hf_graph4mm.training.vision_cache import VisionFeatureCache


@pytest.fixture(scope="module")
def processed():
    budget = Budget()
    processor = build_processor("near_majority", budget, include_neighbor_text=False)
    examples = [  # the study's setting: the answer alone, no instruction
        dataclasses.replace(example, answer=example.attribute, prompt=None)
        for example in generate_examples("near_majority", 6, seed=4)
    ]
    rows = process_examples(processor, examples, with_labels=True)
    images = [image for example in examples for image in example.graph.images if image is not None]
    return processor, rows, images


def test_permuted_slots_carry_the_same_nodes_and_edges(processed):
    _, rows, _ = processed
    row = rows[0]
    text_order = np.arange(len(row["text_hops"]))[::-1]
    image_order = np.random.default_rng(0).permutation(len(row["image_hops"]))
    permuted = permute_node_slots(row, text_order, image_order)
    for modality, order in (("text", text_order), ("image", image_order)):
        old_adjacency, new_adjacency = row[f"{modality}_adjacency"], permuted[f"{modality}_adjacency"]
        for i in range(len(order)):
            assert permuted[f"{modality}_hops"][i] == row[f"{modality}_hops"][order[i]]
            for j in range(len(order)):
                assert new_adjacency[i, j] == old_adjacency[order[i], order[j]]
    assert [permuted["image_keys"][i] for i in range(len(image_order))] == [
        row["image_keys"][k] for k in image_order
    ]
    assert permuted["text_input_ids"] == [row["text_input_ids"][k] for k in text_order]
    assert permuted["input_ids"] == row["input_ids"] and permuted["labels"] == row["labels"]

    # the edge multiset as (key, key) pairs is unchanged: the same graph, relabelled
    def edges(example):
        keys, adjacency = example["image_keys"], example["image_adjacency"]
        return sorted((keys[i], keys[j]) for i, j in zip(*np.nonzero(adjacency)))

    assert edges(permuted) == edges(row)
    with pytest.raises(ValueError, match="image_order must be a permutation"):
        permute_node_slots(row, text_order, [0, 0, 1, 2, 3, 4, 5])


def test_shuffling_is_seeded_and_moves_the_target(processed):
    _, rows, _ = processed
    first, again, other = (
        shuffle_node_slots(rows, 3),
        shuffle_node_slots(rows, 3),
        shuffle_node_slots(rows, 4),
    )
    assert all(a["image_keys"] == b["image_keys"] for a, b in zip(first, again))
    assert any(a["image_keys"] != b["image_keys"] for a, b in zip(first, other))
    assert any(int(np.argmin(row["image_hops"])) != 0 for row in first)  # the target leaves slot 0


@pytest.mark.parametrize(
    "variant,reads_order",
    [("hop_diffused", False), ("hop_aware", False), ("hop_diffused_aware", False), ("no_structure", False),
     ("mmgl_concat", True)],
)  # fmt: skip
def test_only_mmgl_concat_reads_slot_order(processed, variant, reads_order):
    """The study's "sees slot positions" column: the loss of a batch with every example's slots shuffled."""
    processor, rows, images = processed
    budget = Budget()
    model = build_model(variant, "near_majority", seed=0, budget=budget).eval()
    collator = Graph4MMCollator(processor, vision_cache=VisionFeatureCache.build(model, processor, images))
    with torch.no_grad():
        bfs = model(**collator(rows)).loss
        shuffled = model(**collator(shuffle_node_slots(rows, 7))).loss
    if reads_order:
        assert abs(float(bfs - shuffled)) > 1e-4
    else:
        torch.testing.assert_close(shuffled, bfs, rtol=1e-5, atol=1e-6)
