import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from hf_graph4mm.processing import Graph4MMCollator, Graph4MMProcessor, MultimodalGraph
from hf_graph4mm.testing import build_tiny_image_processor, build_tiny_tokenizer

NUM_QUERIES = 8


@pytest.fixture(scope="module")
def processor():
    return Graph4MMProcessor(
        image_processor=build_tiny_image_processor(),
        tokenizer=build_tiny_tokenizer(),
        num_query_tokens=NUM_QUERIES,
        max_length=96,
        max_target_length=16,
        max_node_tokens=24,
    )


def _image(seed):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, size=(20, 30, 3), dtype=np.uint8))


def _graph():
    # page(0) - section(1) - section(2); image nodes 3 (of 1) and 4 (of 2); 5 is 2 hops from 1
    return MultimodalGraph(
        texts=["page title", "section one", "section two", "cap three", None, "far section"],
        images=[None, None, None, _image(3), _image(4), None],
        edges=[(0, 1), (0, 2), (1, 3), (2, 4), (2, 5)],
        name="page",
    )


def _decode(processor, ids):
    return processor.tokenizer.decode([i for i in ids if i >= 0], skip_special_tokens=False)


def test_prompt_layout_and_label_masking(processor):
    batch = processor(_graph(), 1, prompts="Summarize:", target_texts="the answer")
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    placeholder = processor.image_token_id
    positions = (ids == placeholder).nonzero().flatten()
    assert len(positions) == NUM_QUERIES
    assert torch.equal(positions, torch.arange(positions[0], positions[0] + NUM_QUERIES))  # contiguous
    # everything up to and including the placeholders is masked; the answer and </s> are not
    assert (labels[: positions[-1] + 1] == -100).all()
    answer = labels[positions[-1] + 1 :]
    assert _decode(processor, answer) == "the answer</s>"
    assert torch.equal(answer, ids[positions[-1] + 1 :])
    # context: instruction, then the target's text, then 1-hop neighbours by index, then 2-hop
    context = _decode(processor, ids[: positions[0]])
    assert context == "<s>Summarize:\nsection one\npage title\ncap three\nsection two"


def test_subgraph_tensors(processor):
    batch = processor(_graph(), 1)
    assert "labels" not in batch
    assert batch["text_node_mask"][0].tolist() == [True, True, True, True]
    assert batch["text_hops"][0].tolist() == [0, 1, 1, 2]  # nodes 1, 0, 3, 2
    # image nodes within 2 hops of node 1: node 3 (hop 1); node 4 is 3 hops away
    assert batch["image_node_mask"][0].tolist() == [True]
    assert batch["image_hops"][0].tolist() == [1]
    assert batch["pixel_values"].shape == (1, 1, 3, 32, 32)
    expected = processor.image_processor(images=[_image(3)], return_tensors="np")["pixel_values"][0]
    np.testing.assert_allclose(batch["pixel_values"][0, 0].numpy(), expected, rtol=0, atol=0)
    assert batch["text_adjacency"][0].int().tolist() == [
        [1, 1, 1, 0],  # node 1: itself, page 0, caption 3
        [1, 1, 0, 1],  # node 0: 1 and 2
        [1, 0, 1, 0],  # node 3
        [0, 1, 0, 1],  # node 2
    ]
    text = processor.tokenizer.decode(
        batch["text_input_ids"][0, 0][batch["text_attention_mask"][0, 0].bool()]
    )
    assert text == "section one"


def test_collation_pads_nodes_without_edges(processor):
    graph = _graph()
    small = MultimodalGraph(texts=["lonely"], name="one")
    batch = processor([graph, small], [2, 0], target_texts=["a b", "c"])
    assert batch["text_node_mask"].tolist() == [[True] * 4, [True, False, False, False]]  # 2, 0, 5, 1 vs 0
    adjacency = batch["text_adjacency"][1]
    assert adjacency[0, 0] and adjacency.sum() == 1  # padded slots have no edges, not even self-loops
    assert not batch["image_node_mask"][1].any() and (batch["pixel_values"][1] == 0).all()
    assert not batch["image_adjacency"][1].any()
    # the shorter LM sequence is right-padded with pad ids, attention 0 and label -100
    lengths = batch["attention_mask"].sum(1)
    short = int(lengths.argmin())
    pad_zone = slice(int(lengths[short]), None)
    assert (batch["input_ids"][short, pad_zone] == processor.tokenizer.pad_token_id).all()
    assert (batch["labels"][short, pad_zone] == -100).all()


def test_left_padding_for_generation(processor):
    batch = processor([_graph(), MultimodalGraph(texts=["x"])], [1, 0], padding_side="left")
    mask = batch["attention_mask"]
    short = int(mask.sum(1).argmin())
    assert mask[short, 0] == 0 and mask[short, -1] == 1
    assert (batch["input_ids"][:, -1] == processor.image_token_id).all()  # prompts end with the placeholders


def test_truncation_drops_far_hops_first_and_keeps_the_answer(processor):
    long_far = "far " * 200
    graph = MultimodalGraph(texts=["target text", "near one", long_far], edges=[(0, 1), (1, 2)])
    answer = "keep the answer"  # within max_target_length, so only the context may be cut
    processor._warned_truncation = False
    with pytest.warns(UserWarning, match="truncated") as record:
        batch = processor(graph, 0, target_texts=answer)
        processor(graph, 0, target_texts=answer)  # a second truncation does not warn again
    assert len([w for w in record if "truncated" in str(w.message)]) == 1
    ids = batch["input_ids"][0]
    assert len(ids) == processor.max_length
    text = _decode(processor, ids)
    assert text.startswith(
        "<s>target text\nnear one\nfar far"
    )  # the far node is cut, the near ones kept whole
    assert text.endswith(answer + "</s>")
    answer_ids = batch["labels"][0][batch["labels"][0] != -100]
    assert _decode(processor, answer_ids) == answer + "</s>"


def test_save_and_load_round_trip(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    loaded = Graph4MMProcessor.from_pretrained(tmp_path)
    assert loaded.num_query_tokens == NUM_QUERIES and loaded.max_length == processor.max_length
    assert loaded.max_node_tokens == processor.max_node_tokens
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = processor(_graph(), 1, prompts="p", target_texts="t")
        second = loaded(_graph(), 1, prompts="p", target_texts="t")
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def test_collator_processes_raw_dataset_rows(processor):
    graph = _graph()
    rows = [
        {"id": "a", "graph": graph.to_dict(), "target_node": 1, "target_text": "x", "prompt": "Summarize:"},
        {"id": "b", "graph": graph.to_dict(), "target_node": 2, "target_text": "y z", "prompt": "Summarize:"},
    ]
    batch = Graph4MMCollator(processor)(rows)
    direct = processor([graph, graph], [1, 2], prompts="Summarize:", target_texts=["x", "y z"])
    for key in direct:
        assert torch.equal(batch[key], direct[key]), key
    with pytest.raises(ValueError, match="row 'c' has a graph but no 'target_node'"):
        Graph4MMCollator(processor)([{"id": "c", "graph": graph.to_dict()}])


def test_bad_inputs_are_named(processor):
    with pytest.raises(ValueError, match="graph 'page' has 6 nodes, no target node 9"):
        processor(_graph(), 9)
    broken = MultimodalGraph(texts=["a", None], images=[None, b"not an image"], edges=[(0, 1)], name="broken")
    with pytest.raises(ValueError, match="graph 'broken': cannot read the image of node 1"):
        processor(broken, 0)
    with pytest.raises(ValueError, match="2 graphs but 1 targets"):
        processor([_graph(), _graph()], [1])
    tokenizer = build_tiny_tokenizer()
    with pytest.raises(ValueError, match="leaves no room for context"):
        Graph4MMProcessor(build_tiny_image_processor(), tokenizer, num_query_tokens=60, max_length=64)
