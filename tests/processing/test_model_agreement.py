"""The processor and collator take the model's placeholder count, or say what disagrees (issue 27)."""

import pytest

from hf_graph4mm.processing import Graph4MMCollator, Graph4MMProcessor
from hf_graph4mm.testing import build_tiny_image_processor, build_tiny_tokenizer, tiny_graph4mm


def test_for_model_takes_the_query_count_and_node_caps_from_the_config():
    model, _ = tiny_graph4mm()
    config = model.config
    processor = Graph4MMProcessor.for_model(
        model, build_tiny_image_processor(), build_tiny_tokenizer(), num_hops=1
    )
    assert processor.num_query_tokens == config.num_query_tokens_per_image * config.max_image_nodes
    assert (processor.max_text_nodes, processor.max_image_nodes) == (
        config.max_text_nodes,
        config.max_image_nodes,
    )
    assert processor.num_hops == 1
    with pytest.raises(
        ValueError, match=r"num_query_tokens=7 disagrees with the model config's num_query_tokens"
    ):
        Graph4MMProcessor.for_model(
            model, build_tiny_image_processor(), build_tiny_tokenizer(), num_query_tokens=7
        )


def test_a_mismatched_processor_is_named_before_any_step():
    model, _ = tiny_graph4mm()
    wrong = Graph4MMProcessor(
        image_processor=build_tiny_image_processor(), tokenizer=build_tiny_tokenizer(), num_query_tokens=3
    )
    expected = model.config.num_query_tokens
    message = (
        rf"the processor writes num_query_tokens = 3 <image> placeholders but the model expects {expected}"
    )
    with pytest.raises(ValueError, match=message):
        Graph4MMCollator(wrong, model=model)
    with pytest.raises(ValueError, match=message):
        wrong.check_model(model.config)


def test_rows_stripped_by_trainer_name_remove_unused_columns():
    _, processor = tiny_graph4mm()
    with pytest.raises(ValueError, match=r"only the columns \['label'\].*remove_unused_columns=False"):
        Graph4MMCollator(processor)([{"label": 1}, {"label": 0}])


def test_a_shared_graph_given_as_a_dict_is_built_once():
    from hf_graph4mm.processing import MultimodalGraph

    _, processor = tiny_graph4mm()
    graph = MultimodalGraph(texts=["a", "b", "c"], edges=[(0, 1), (1, 2)])
    collator = Graph4MMCollator(processor, graph=graph.to_dict())
    assert isinstance(collator.graph, MultimodalGraph) and collator.graph.to_dict() == graph.to_dict()
    batch = collator([{"target_node": 2, "target_text": "x"}])
    assert batch["text_node_mask"].tolist() == [[True, True, True]]  # node 2 and its 1- and 2-hop neighbours
