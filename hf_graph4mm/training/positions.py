"""Position controls for the structure study: processed examples with their node slots reordered.

``Graph4MMProcessor.process_example`` lists each modality's nodes nearest hop first (the BFS
order of ``extract_subgraph``, the target first). A model that reads slot order can read hop
distance from it: MMGL concat turns image slot ``s`` into LM positions ``s M .. (s + 1) M - 1``.
Shuffling the slots per example removes that channel; a model whose computation is
invariant to the slot order (Graph4MM's Q-Former variants: shared queries, keys without a
position) gives the same outputs either way.

Per-node entries of a processed example (each reordered consistently):

- text: ``text_input_ids`` (one token list per node), ``text_adjacency [Nt, Nt]``, ``text_hops [Nt]``;
- image: ``image_keys`` (one key per node) or ``pixel_values [Ni, 3, H, W]``,
  ``image_adjacency [Ni, Ni]``, ``image_hops [Ni]``.

The LM sequence (``input_ids`` / ``labels``) is left as it is: a processor built with
``include_neighbor_text=False`` puts only the target's own text there, so no node order reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_PER_NODE = {
    "text": ("text_input_ids", "text_adjacency", "text_hops"),
    "image": ("image_keys", "pixel_values", "image_adjacency", "image_hops"),
}


def _reorder(value, order: np.ndarray, square: bool):
    if value is None:
        return None
    if square:  # adjacency: rows and columns
        return np.asarray(value)[np.ix_(order, order)]
    if isinstance(value, np.ndarray):
        return value[order]
    return [value[int(i)] for i in order]


def permute_node_slots(example: dict, text_order: Sequence[int], image_order: Sequence[int]) -> dict:
    """A copy of ``example`` whose text slot ``i`` is old slot ``text_order[i]`` (images alike).

    Args:
        example: a processed example (see the module docstring for the per-node keys).
        text_order / image_order: permutations of ``range(Nt)`` / ``range(Ni)``.
    """
    permuted = dict(example)
    for modality, order in (("text", text_order), ("image", image_order)):
        order = np.asarray(order, dtype=np.int64)
        count = len(example[f"{modality}_hops"])
        if sorted(order.tolist()) != list(range(count)):
            raise ValueError(
                f"{modality}_order must be a permutation of range({count}), got {order.tolist()}"
            )
        for key in _PER_NODE[modality]:
            if key in example:
                permuted[key] = _reorder(example[key], order, square=key.endswith("_adjacency"))
    return permuted


def shuffle_node_slots(examples: Sequence[dict], seed: int) -> list[dict]:
    """Every example with its text and image slots in a random order (example ``i`` draws from ``(seed, i)``).

    The order is a property of the data: the same ``seed`` gives every model the same shuffled examples.
    """
    shuffled = []
    for index, example in enumerate(examples):
        rng = np.random.default_rng([int(seed), index])
        text_order = rng.permutation(len(example["text_hops"]))
        image_order = rng.permutation(len(example["image_hops"]))
        shuffled.append(permute_node_slots(example, text_order, image_order))
    return shuffled
