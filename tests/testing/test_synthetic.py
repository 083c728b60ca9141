"""The synthetic structure tasks: same seed -> same graphs, and the stated rule holds.

The rule is checked against independent references: hop distances from scipy's
shortest paths (not the package's BFS) and colours read back from the rendered pixels
(not from the generator's bookkeeping).
"""

import io
from collections import Counter

import numpy as np
import pytest
from PIL import Image
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from hf_graph4mm.testing.synthetic import COLOURS, MAX_NODES, TASKS, generate_examples, generate_splits

NUM_CHECKED = 60


def pixel_colour(png: bytes) -> str | None:
    """The palette colour painted on a picture (None for the neutral grey target picture)."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    for name, rgb in COLOURS.items():
        if (pixels == np.array(rgb)).all(axis=1).sum() > 50:
            return name
    return None


def hops_from(graph, target) -> np.ndarray:
    """Unweighted shortest-path lengths from ``target`` (inf where unreachable)."""
    source, dest = graph.edge_index
    matrix = csr_matrix((np.ones(len(source)), (source, dest)), shape=(graph.num_nodes, graph.num_nodes))
    return shortest_path(matrix, directed=False, unweighted=True, indices=target)


def image_colours_at(example, hop: int) -> list[str]:
    hops = hops_from(example.graph, example.target)
    return [
        pixel_colour(example.graph.images[node])
        for node in range(example.graph.num_nodes)
        if hops[node] == hop and example.graph.images[node] is not None
    ]


def text_colour(text: str) -> str:
    (colour,) = [name for name in COLOURS if name in text.split()]
    return colour


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_graphs_other_seed_other_graphs(task):
    first, again = generate_examples(task, 5, seed=3), generate_examples(task, 5, seed=3)
    for a, b in zip(first, again):
        assert a.graph.texts == b.graph.texts and a.graph.images == b.graph.images
        assert np.array_equal(a.graph.edge_index, b.graph.edge_index)
        assert (a.target, a.answer, a.evidence) == (b.target, b.answer, b.evidence)
    other = generate_examples(task, 5, seed=4)
    assert [e.graph.images for e in first] != [e.graph.images for e in other]
    splits = generate_splits(task, 5, 5, seed=3)
    assert [e.graph.images for e in splits["train"]] == [e.graph.images for e in first]
    assert [e.graph.images for e in splits["test"]] != [e.graph.images for e in first]


@pytest.mark.parametrize("task", ["far_colour", "near_majority"])
def test_every_node_within_two_hops_one_modality_each_but_the_target(task):
    for example in generate_examples(task, NUM_CHECKED, seed=0):
        graph = example.graph
        assert hops_from(graph, example.target).max() <= 2
        assert graph.texts[example.target] == "start here"
        assert pixel_colour(graph.images[example.target]) is None  # the neutral picture
        for node in range(graph.num_nodes):
            if node != example.target:
                assert (graph.texts[node] is None) != (graph.images[node] is None), node


def test_far_colour_answer_is_the_only_image_two_hops_away():
    for example in generate_examples("far_colour", NUM_CHECKED, seed=0):
        hops = hops_from(example.graph, example.target)
        (evidence,) = example.evidence
        assert hops[evidence] == 2 and example.evidence_hop == 2
        assert image_colours_at(example, 2) == [pixel_colour(example.graph.images[evidence])]
        assert example.answer == f"{example.attribute} is the far colour"
        assert pixel_colour(example.graph.images[evidence]) == example.attribute
        near = image_colours_at(example, 1)
        assert 1 <= len(near) <= 2 and len(set(near)) == len(near)
        assert example.attribute not in near  # the 1-hop pictures always disagree
        texts_at = [hops[n] for n, text in enumerate(example.graph.texts) if text and n != example.target]
        assert sorted(texts_at) == [1, 2]  # a 1-hop and a same-hop (2-hop) text distractor


def test_near_majority_label_is_the_majority_of_one_hop_pictures_and_counts_alone_cannot_tell():
    for example in generate_examples("near_majority", NUM_CHECKED, seed=0):
        near, far = image_colours_at(example, 1), image_colours_at(example, 2)
        assert len(near) == len(far) == 3
        label, count = Counter(near).most_common(1)[0]
        assert count == 2 and label == example.attribute == example.answer
        far_top, far_count = Counter(far).most_common(1)[0]
        assert far_count == 2 and far_top != label
        assert len(set(near) | set(far)) == 4  # c, x, d, y all distinct
        overall = Counter(near + far)
        assert overall[label] == overall[far_top] == 2  # a tie without hop information
        hops = hops_from(example.graph, example.target)
        assert all(hops[node] == 1 for node in example.evidence) and example.evidence_hop == 1


@pytest.mark.parametrize("task", ["far_colour", "near_majority"])
def test_texts_name_colours_independent_of_the_answer(task):
    """Text distractors name the answer about 1/6 of the time (uniform draws): no information in them."""
    examples = generate_examples(task, 600, seed=1)
    texts = [
        (text, example.attribute)
        for example in examples
        for node, text in enumerate(example.graph.texts)
        if text is not None and node != example.target
    ]
    agreeing = np.mean([text_colour(text) == answer for text, answer in texts])
    assert 0.12 < agreeing < 0.22, agreeing


@pytest.mark.parametrize("task", TASKS)
def test_the_processor_sees_the_evidence_at_its_hop(task):
    """With the task's node caps, the evidence pictures reach the model with their hop distance."""
    from hf_graph4mm.processing import Graph4MMProcessor
    from hf_graph4mm.processing.graph import image_cache_key
    from hf_graph4mm.testing import build_tiny_image_processor, build_tiny_tokenizer

    max_images, max_texts = MAX_NODES[task]
    processor = Graph4MMProcessor(
        image_processor=build_tiny_image_processor(),
        tokenizer=build_tiny_tokenizer(),
        num_query_tokens=max_images,
        max_text_nodes=max_texts,
        max_image_nodes=max_images,
        max_length=256,
    )
    for example in generate_examples(task, 10, seed=2):
        processed = processor.process_example(
            example.graph, example.target, example.prompt, example.answer, load_images=False
        )
        assert len(processed["image_keys"]) == sum(image is not None for image in example.graph.images)
        assert len(processed["text_input_ids"]) == sum(text is not None for text in example.graph.texts)
        for node in example.evidence:
            slot = processed["image_keys"].index(image_cache_key(example.graph.images[node]))
            assert processed["image_hops"][slot] == example.evidence_hop


def key_shape(png: bytes) -> str | None:
    """The black key shape on a picture, read from its pixels (None: no black shape)."""
    black = (np.asarray(Image.open(io.BytesIO(png)).convert("RGB")) == 0).all(axis=-1)
    ys, xs = np.nonzero(black)
    if len(ys) < 100:
        return None
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    if black[top, left] and black[bottom, right]:
        return "square"  # filled corners
    if black[bottom, left : right + 1].all():
        return "triangle"  # a full bottom edge, no corners at the top
    return "circle" if black.sum() > 0.6 * (bottom - top + 1) * (right - left + 1) else "diamond"


def breadth_first_hops(num_nodes: int, edges, source: int) -> dict[int, int]:
    """Hop distances by a queue over an undirected adjacency list (written here, not the package's BFS)."""
    neighbours = {node: set() for node in range(num_nodes)}
    for a, b in edges:
        neighbours[int(a)].add(int(b))
        neighbours[int(b)].add(int(a))
    hops, queue = {source: 0}, [source]
    while queue:
        node = queue.pop(0)
        for other in sorted(neighbours[node]):
            if other not in hops:
                hops[other] = hops[node] + 1
                queue.append(other)
    return hops


def test_linked_colour_answer_is_the_picture_linked_to_the_named_key_and_hops_cannot_tell():
    for example in generate_examples("linked_colour", NUM_CHECKED, seed=0):
        graph = example.graph
        edges = list(zip(*graph.edge_index))
        hops = breadth_first_hops(graph.num_nodes, edges, example.target)
        assert graph.texts[example.target].startswith("find the ")
        asked = graph.texts[example.target].removeprefix("find the ")
        assert [text for node, text in enumerate(graph.texts) if node != example.target and text] == []
        keys = {node: key_shape(graph.images[node]) for node in range(graph.num_nodes) if hops[node] == 1}
        assert sorted(hops.values()) == [0, 1, 1, 1, 2, 2, 2]
        assert None not in keys.values() and len(set(keys.values())) == 3 and asked in keys.values()
        coloured = [node for node in range(graph.num_nodes) if hops[node] == 2]
        colours = [pixel_colour(graph.images[node]) for node in coloured]
        assert None not in colours and len(set(colours)) == 3  # three distinct same-hop candidates
        linked = {}
        for node in coloured:
            (key,) = [other for a, b in edges for other in (a, b) if node in (a, b) and other != node]
            linked[keys[key]] = pixel_colour(graph.images[node])  # each picture hangs off one key
        assert len(linked) == 3
        assert linked[asked] == example.attribute == example.answer
        assert [pixel_colour(graph.images[node]) for node in example.evidence] == [example.attribute]
    # the asked key, and so the answer's place among the candidates, varies
    answers = Counter(e.graph.texts[e.target] for e in generate_examples("linked_colour", 200, seed=1))
    assert len(answers) == 4 and min(answers.values()) > 20


def test_linked_colour_reaches_the_model_with_each_picture_linked_to_its_key():
    """The processed image subgraph (what the structure modules see) keeps the key-to-picture edges."""
    from hf_graph4mm.processing import Graph4MMProcessor
    from hf_graph4mm.processing.graph import image_cache_key
    from hf_graph4mm.testing import build_tiny_image_processor, build_tiny_tokenizer

    max_images, max_texts = MAX_NODES["linked_colour"]
    processor = Graph4MMProcessor(
        image_processor=build_tiny_image_processor(),
        tokenizer=build_tiny_tokenizer(),
        num_query_tokens=max_images,
        max_text_nodes=max_texts,
        max_image_nodes=max_images,
        max_length=256,
    )
    for example in generate_examples("linked_colour", 10, seed=5):
        graph = example.graph
        processed = processor.process_example(graph, example.target, None, example.answer, load_images=False)
        image_of_key = {image_cache_key(image): image for image in graph.images if image is not None}
        (evidence,) = example.evidence
        slot = processed["image_keys"].index(image_cache_key(graph.images[evidence]))
        adjacency = processed["image_adjacency"]
        (key_slot,) = [other for other in np.flatnonzero(adjacency[slot]) if other != slot]
        assert (
            key_shape(image_of_key[processed["image_keys"][key_slot]])
            == graph.texts[example.target].split()[-1]
        )
        assert processed["image_hops"][slot] == 2 and processed["image_hops"][key_slot] == 1


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown synthetic task 'nope'"):
        generate_examples("nope", 1, seed=0)
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        generate_examples("far_colour", 1, seed=0, split="dev")
    with pytest.raises(ValueError, match="num_examples must be >= 0"):
        generate_examples("far_colour", -1, seed=0)
