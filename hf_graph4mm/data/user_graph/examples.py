"""Which nodes become examples, with their target text and split.

A node is an example when it has a target text: its own ``target_text``, else its label's
verbaliser (:mod:`.labels`). Its split is the one the nodes table gives; nodes without one are
split at random (seeded, by ``fractions`` of train / validation / test), so the same inputs and
seed always give the same splits.

Example row (every layout)::

    {"id": "shop-42", "node_index": 17, "node_id": "42", "target_node": 17,
     "target_text": "a pair of shoes", "label": 1, "label_name": "shoe"}

``label`` / ``label_name`` exist only for labelled data, ``prompt`` only when one is given; ``node_index`` is the node's index in
the whole graph; ``target_node`` is the same index, except in the per-row layout, where it
indexes the row's own ``graph`` (see :mod:`.layout`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .labels import Verbalizer
from .nodes import SPLITS

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class Example:
    node_index: int
    node_id: str
    target_text: str
    label_name: str | None


def random_splits(count: int, fractions: Sequence[float], seed: int) -> list[str]:
    """Split names for ``count`` items: a seeded permutation cut by ``fractions`` (train gets the rest)."""
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    sizes = [int(round(count * fractions[1])), int(round(count * fractions[2]))]
    while count and sum(sizes) >= count and fractions[0] > 0:  # train keeps at least one item
        sizes[1 if sizes[1] else 0] -= 1
    names = np.array(["train"] * count, dtype=object)
    order = np.random.default_rng(seed).permutation(count)
    names[order[: sizes[0]]] = "validation"
    names[order[sizes[0] : sizes[0] + sizes[1]]] = "test"
    return names.tolist()


def select_examples(
    node_ids: Sequence,
    labels: Sequence | None,
    target_texts: Sequence[str | None] | None,
    splits: Sequence[str | None] | None,
    verbalizer: Verbalizer | None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = 0,
) -> dict[str, list[Example]]:
    """``{split: [Example, ...]}`` in node order within each split (see the module docstring)."""
    chosen: list[Example] = []
    given: list[str | None] = []
    for index, node_id in enumerate(node_ids):
        label = labels[index] if labels is not None else None
        text = target_texts[index] if target_texts is not None else None
        if text is None and label is not None and verbalizer is not None:
            text = verbalizer.text_of(label)
        if text is None:
            continue
        name = verbalizer.name_of(label) if (label is not None and verbalizer is not None) else None
        chosen.append(Example(node_index=index, node_id=str(node_id), target_text=text, label_name=name))
        given.append(splits[index] if splits is not None else None)
    if not chosen:
        raise ValueError(
            "no node has a target_text or a label: nothing to train or evaluate on "
            "(add a 'target_text' or 'label' column to the nodes table)"
        )
    unassigned = [position for position, split in enumerate(given) if split is None]
    for position, split in zip(unassigned, random_splits(len(unassigned), fractions, seed)):
        given[position] = split
    result: dict[str, list[Example]] = {split: [] for split in SPLITS}
    for example, split in zip(chosen, given):
        result[split].append(example)
    return {split: rows for split, rows in result.items() if rows}
