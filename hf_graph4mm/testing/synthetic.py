"""Seeded synthetic multimodal graphs whose answer sits at a known hop distance and modality.

Built to test whether a model *uses* graph structure: every graph holds the same kinds of
nodes at every position, so only the hop distance (and the modality) tells the evidence
apart from the distractors in ``far_colour`` and ``near_majority``, and only the edges (which
node is linked to which) in ``linked_colour``. Images are small rendered pictures (a coloured shape on white,
32 x 32 PNG bytes); texts are short sentences. The rules below were fixed before any
model was trained on them (``linked_colour``'s on 2026-12-07, before any run on it).

Common to all tasks:

- colours come from :data:`COLOURS` (6 names), shapes from :data:`SHAPES` (a nuisance:
  drawn at random, never asked about);
- the target node carries the text ``"start here"`` (``linked_colour``: ``"find the {shape}"``) and a neutral picture (a black ``?`` on
  grey, no palette colour), so it is in both the text and the visual subgraph;
- every other node carries exactly one modality: an image-only node (a coloured shape) or
  a text-only node naming a colour drawn uniformly from all 6, independently of the
  answer (texts carry *no* information about it: a model trusting them is right 1/6 of
  the time);
- node indices are shuffled per graph, so an index never says what a node is.

Task ``"far_colour"`` (generation; the answer is in the image 2 hops away):

- hop 1: ``k`` image nodes (``k`` uniform in {1, 2}), each linked to the target, with
  distinct colours, all different from the answer colour; one text node linked to the
  target;
- hop 2: exactly one image node, linked to one hop-1 image node drawn at random: its
  colour is the answer; one text node linked to a random hop-1 node (a same-hop text
  distractor);
- answer text: ``"{colour} is the far colour"`` (the colour first: a first version ending in the
  colour, ``"the far picture is {colour}"``, was not learnt by any variant of the tiny
  from-scratch LM within a few thousand steps, the colour staying at chance).
  Without hop information the answer is one of the ``k + 1`` coloured pictures.

Task ``"near_majority"`` (node classification; the label is the majority colour of the
target's 1-hop image neighbours):

- hop 1: three image nodes linked to the target, coloured ``[c, c, x]``;
- hop 2: three image nodes, one linked to each hop-1 image node (random pairing),
  coloured ``[d, d, y]`` (``c, x, d, y`` four distinct colours): the same pattern, so the
  colour counts over the whole neighbourhood (two ``c``, two ``d``) cannot tell ``c``
  from ``d`` without hop information (50 % by chance);
- one text node at hop 1 and one at hop 2 (random colours, as above);
- label / answer text: ``c`` (the colour name).

Task ``"linked_colour"`` (classification by generation; relational: the answer depends on *which*
nodes are connected, not on how far they are):

- the target's text is ``"find the {shape}"``, ``shape`` one of the three key shapes present;
- hop 1: three *key* image nodes linked to the target, each a black ``shape`` on white drawn
  at a fixed size and place (:func:`render_key`), three distinct shapes from :data:`KEY_SHAPES`
  (no palette colour);
- hop 2: three coloured image nodes (random shape, size and position, as in the other tasks),
  exactly one linked to each key node, three distinct colours;
- label / answer text: the colour of the hop-2 picture linked to the key whose shape the
  target's text names. The other two coloured pictures are same-hop distractors: every
  coloured picture is 2 hops away and every key 1 hop away, so hop distance alone leaves the
  three colours equally likely (33 % by chance); only the key-to-picture edges tell them apart.
  No other text nodes.

Each graph is one ``MultimodalGraph`` with the target as the example's ``target``; all
evidence and distractors lie within 2 hops (``num_hops=2`` extracts everything).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..processing import MultimodalGraph

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 40),
    "blue": (30, 60, 220),
    "yellow": (235, 215, 20),
    "purple": (140, 40, 180),
    "orange": (245, 130, 20),
}
SHAPES = ("circle", "square", "triangle")
IMAGE_SIZE = 32
TARGET_TEXT = "start here"
# Black key shapes of "linked_colour" (drawn by render_key; SHAPES stays the other tasks' nuisance set).
KEY_SHAPES = ("circle", "square", "triangle", "diamond")
KEY_BOX = (4, 4, 27, 27)
TASKS = ("far_colour", "near_majority", "linked_colour")
PROMPTS = {
    "far_colour": "What colour is the picture two steps away?",
    "near_majority": "Which colour do most pictures next to the start show?",
    "linked_colour": "Which colour is linked to the named shape?",
}
# Graph sizes per task, for model configs: (image nodes, text nodes) incl. the target.
MAX_NODES = {"far_colour": (4, 3), "near_majority": (7, 3), "linked_colour": (7, 1)}
_SPLIT_STREAMS = {"train": 0, "validation": 1, "test": 2}


@dataclass(frozen=True)
class SyntheticExample:
    """One generated graph and what the rule says about it.

    Attributes:
        graph: the graph.
        target: index of the target node.
        prompt: the instruction for the LM prompt.
        answer: the answer text to generate.
        attribute: the colour the answer names.
        evidence: indices of the nodes whose images determine the answer.
        evidence_hop: their hop distance from the target.
        task: the task name.
    """

    graph: MultimodalGraph
    target: int
    prompt: str
    answer: str
    attribute: str
    evidence: tuple[int, ...]
    evidence_hop: int
    task: str

    def to_row(self) -> dict:
        """A ``Graph4MMCollator`` / ``datasets`` row: graph dict, target node, prompt, target text."""
        return {
            "graph": self.graph.to_dict(),
            "target_node": self.target,
            "prompt": self.prompt,
            "target_text": self.answer,
            "attribute": self.attribute,
        }


@lru_cache(maxsize=4096)
def render_picture(colour: str | None, shape: str, box: tuple[int, int, int, int]) -> bytes:
    """PNG bytes of a 32 x 32 picture: ``shape`` filled with ``colour`` on white inside ``box``.

    ``colour=None`` draws the neutral target picture (a black ``?`` on grey) instead.
    """
    from PIL import Image, ImageDraw

    if colour is None:
        image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (128, 128, 128))
        ImageDraw.Draw(image).text((12, 10), "?", fill=(0, 0, 0))
    else:
        if colour not in COLOURS:
            raise ValueError(f"unknown colour {colour!r}; known: {sorted(COLOURS)}")
        image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        fill = COLOURS[colour]
        left, top, right, bottom = box
        if shape == "circle":
            draw.ellipse(box, fill=fill)
        elif shape == "square":
            draw.rectangle(box, fill=fill)
        elif shape == "triangle":
            draw.polygon([(left, bottom), (right, bottom), ((left + right) // 2, top)], fill=fill)
        else:
            raise ValueError(f"unknown shape {shape!r}; known: {SHAPES}")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@lru_cache(maxsize=len(KEY_SHAPES))
def render_key(shape: str) -> bytes:
    """PNG bytes of a 32 x 32 key picture: a black ``shape`` from :data:`KEY_SHAPES` inside :data:`KEY_BOX`."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = KEY_BOX
    middle_x, middle_y = (left + right) // 2, (top + bottom) // 2
    if shape == "circle":
        draw.ellipse(KEY_BOX, fill=(0, 0, 0))
    elif shape == "square":
        draw.rectangle(KEY_BOX, fill=(0, 0, 0))
    elif shape == "triangle":
        draw.polygon([(left, bottom), (right, bottom), (middle_x, top)], fill=(0, 0, 0))
    elif shape == "diamond":
        draw.polygon(
            [(middle_x, top), (right, middle_y), (middle_x, bottom), (left, middle_y)], fill=(0, 0, 0)
        )
    else:
        raise ValueError(f"unknown key shape {shape!r}; known: {KEY_SHAPES}")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _random_picture(rng: np.random.Generator, colour: str) -> bytes:
    """A ``colour`` picture with a random shape, size (16-26 px) and position."""
    size = int(rng.integers(16, 27))
    left, top = (int(v) for v in rng.integers(0, IMAGE_SIZE - size + 1, size=2))
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    return render_picture(colour, shape, (left, top, left + size - 1, top + size - 1))


class _GraphBuilder:
    """Nodes and edges in construction order; :meth:`build` shuffles the node indices."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.texts: list[str | None] = [TARGET_TEXT]
        self.images: list[bytes | None] = [render_picture(None, "square", (0, 0, 0, 0))]
        self.colours: list[str | None] = [None]
        self.edges: list[tuple[int, int]] = []

    def random_colour(self) -> str:
        return list(COLOURS)[int(self.rng.integers(len(COLOURS)))]

    def add_image(self, colour: str, parent: int) -> int:
        self.texts.append(None)
        self.images.append(_random_picture(self.rng, colour))
        self.colours.append(colour)
        self.edges.append((parent, len(self.texts) - 1))
        return len(self.texts) - 1

    def add_key(self, shape: str, parent: int) -> int:
        self.texts.append(None)
        self.images.append(render_key(shape))
        self.colours.append(None)
        self.edges.append((parent, len(self.texts) - 1))
        return len(self.texts) - 1

    def add_text(self, template: str, parent: int) -> int:
        self.texts.append(template.format(colour=self.random_colour()))
        self.images.append(None)
        self.colours.append(None)
        self.edges.append((parent, len(self.texts) - 1))
        return len(self.texts) - 1

    def build(self, name: str, evidence: list[int]) -> tuple[MultimodalGraph, int, tuple[int, ...]]:
        """The graph with shuffled indices, the target's new index and the evidence's new indices."""
        order = self.rng.permutation(len(self.texts))  # order[new] = old
        new_of_old = np.empty_like(order)
        new_of_old[order] = np.arange(len(order))
        graph = MultimodalGraph(
            texts=[self.texts[old] for old in order],
            images=[self.images[old] for old in order],
            edges=[(int(new_of_old[s]), int(new_of_old[t])) for s, t in self.edges],
            labels=[self.colours[old] for old in order],
            name=name,
        )
        return graph, int(new_of_old[0]), tuple(sorted(int(new_of_old[old]) for old in evidence))


def far_colour_example(rng: np.random.Generator, name: str = "far_colour") -> SyntheticExample:
    """One ``"far_colour"`` graph (see the module docstring for the rule)."""
    builder = _GraphBuilder(rng)
    palette = list(COLOURS)
    num_near = int(rng.integers(1, 3))
    picked = [palette[i] for i in rng.choice(len(palette), size=num_near + 1, replace=False)]
    answer_colour, near_colours = picked[0], picked[1:]
    near = [builder.add_image(colour, parent=0) for colour in near_colours]
    near_text = builder.add_text("this note says {colour}", parent=0)
    far = builder.add_image(answer_colour, parent=near[int(rng.integers(num_near))])
    builder.add_text("the far one is {colour}", parent=[*near, near_text][int(rng.integers(num_near + 1))])
    graph, target, evidence = builder.build(name, [far])
    return SyntheticExample(
        graph=graph,
        target=target,
        prompt=PROMPTS["far_colour"],
        answer=f"{answer_colour} is the far colour",
        attribute=answer_colour,
        evidence=evidence,
        evidence_hop=2,
        task="far_colour",
    )


def near_majority_example(rng: np.random.Generator, name: str = "near_majority") -> SyntheticExample:
    """One ``"near_majority"`` graph (see the module docstring for the rule)."""
    builder = _GraphBuilder(rng)
    palette = list(COLOURS)
    c, x, d, y = (palette[i] for i in rng.choice(len(palette), size=4, replace=False))
    near_colours = [c, c, x]
    far_colours = [d, d, y]
    near = [builder.add_image(colour, parent=0) for colour in near_colours]
    for parent, colour in zip(rng.permutation(near), far_colours):
        builder.add_image(colour, parent=int(parent))
    builder.add_text("{colour} is common here", parent=0)
    builder.add_text("most are {colour}", parent=near[int(rng.integers(3))])
    graph, target, evidence = builder.build(name, near[:2])
    return SyntheticExample(
        graph=graph,
        target=target,
        prompt=PROMPTS["near_majority"],
        answer=c,
        attribute=c,
        evidence=evidence,
        evidence_hop=1,
        task="near_majority",
    )


def linked_colour_example(rng: np.random.Generator, name: str = "linked_colour") -> SyntheticExample:
    """One ``"linked_colour"`` graph (see the module docstring for the rule)."""
    builder = _GraphBuilder(rng)
    palette = list(COLOURS)
    shapes = [KEY_SHAPES[i] for i in rng.choice(len(KEY_SHAPES), size=3, replace=False)]
    colours = [palette[i] for i in rng.choice(len(palette), size=3, replace=False)]
    asked = int(rng.integers(3))
    builder.texts[0] = f"find the {shapes[asked]}"
    keys = [builder.add_key(shape, parent=0) for shape in shapes]
    linked = [builder.add_image(colour, parent=key) for key, colour in zip(keys, colours)]
    graph, target, evidence = builder.build(name, [linked[asked]])
    return SyntheticExample(
        graph=graph,
        target=target,
        prompt=PROMPTS["linked_colour"],
        answer=colours[asked],
        attribute=colours[asked],
        evidence=evidence,
        evidence_hop=2,
        task="linked_colour",
    )


_MAKERS = {
    "far_colour": far_colour_example,
    "near_majority": near_majority_example,
    "linked_colour": linked_colour_example,
}


def generate_examples(
    task: str, num_examples: int, seed: int, split: str = "train"
) -> list[SyntheticExample]:
    """``num_examples`` graphs of ``task``; the same (task, seed, split) always gives the same graphs.

    Splits draw from separate random streams of the seed, so train and test never share a stream.
    """
    if task not in _MAKERS:
        raise ValueError(f"unknown synthetic task {task!r}; choose one of {TASKS}")
    if split not in _SPLIT_STREAMS:
        raise ValueError(f"unknown split {split!r}; choose one of {tuple(_SPLIT_STREAMS)}")
    if num_examples < 0:
        raise ValueError(f"num_examples must be >= 0, got {num_examples}")
    rng = np.random.default_rng([int(seed), _SPLIT_STREAMS[split], TASKS.index(task)])
    return [_MAKERS[task](rng, name=f"{task}-{split}-{index}") for index in range(num_examples)]


def generate_splits(
    task: str, num_train: int, num_test: int, seed: int = 0
) -> dict[str, list[SyntheticExample]]:
    """``{"train": [...], "test": [...]}`` from one seed (independent streams per split)."""
    return {
        "train": generate_examples(task, num_train, seed, "train"),
        "test": generate_examples(task, num_test, seed, "test"),
    }


__all__ = [
    "COLOURS",
    "KEY_SHAPES",
    "MAX_NODES",
    "PROMPTS",
    "SHAPES",
    "TASKS",
    "SyntheticExample",
    "far_colour_example",
    "generate_examples",
    "generate_splits",
    "linked_colour_example",
    "near_majority_example",
    "render_key",
    "render_picture",
]
