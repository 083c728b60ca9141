"""Building a graph from nodes / edges tables in parquet, CSV and JSON Lines, with an image folder."""

import pytest

from hf_graph4mm.data.user_graph import graph_from_tables
from hf_graph4mm.testing.user_graphs import (
    COLOURS,
    IMAGE_OF_NODE,
    NUM_SHOP_NODES,
    SHOP_EDGES,
    png_bytes,
    shop_edges,
    shop_nodes,
    write_shop_tables,
)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_each_format_gives_the_hand_built_graph(tmp_path, suffix):
    files = write_shop_tables(tmp_path, suffix)
    read = graph_from_tables(files.nodes, files.edges, files.images_dir, name="shop")
    graph = read.graph
    assert graph.num_nodes == NUM_SHOP_NODES and graph.node_ids == [10 + i for i in range(NUM_SHOP_NODES)]
    assert graph.edge_index.T.tolist() == [list(pair) for pair in SHOP_EDGES]  # ids 10+i -> index i
    assert graph.edge_relations == ["bought_with"] * len(SHOP_EDGES)
    assert graph.texts[5] is None and graph.texts[1] == "product 1: a shoe in size 37"
    assert graph.labels == ["hat", "shoe"] * 4
    for index in range(NUM_SHOP_NODES):
        image = graph.images[index]
        if index in IMAGE_OF_NODE:  # embedded: the file's own bytes
            assert image["bytes"] == png_bytes(COLOURS[IMAGE_OF_NODE[index]])
        else:
            assert image is None
    assert read.target_texts is None and read.splits is None


def test_string_ids_are_mapped_once_in_row_order(tmp_path):
    files = write_shop_tables(tmp_path, ".jsonl", string_ids=True)
    graph = graph_from_tables(files.nodes, files.edges, files.images_dir, string_ids=True).graph
    assert graph.node_ids == [f"p{i}" for i in range(NUM_SHOP_NODES)]
    assert graph.edge_index.T.tolist() == [list(pair) for pair in SHOP_EDGES]


def test_in_memory_rows_with_image_bytes_and_paths_not_embedded(tmp_path):
    graph = graph_from_tables(shop_nodes(embed_images=True), shop_edges()).graph
    assert graph.images[3]["bytes"] == png_bytes(COLOURS["img1.png"])
    files = write_shop_tables(tmp_path, ".csv")
    kept = graph_from_tables(files.nodes, files.edges, files.images_dir, embed_images=False).graph
    assert kept.images[6] == str((files.images_dir / "img3.png").resolve())


def test_rows_reversed_change_the_indices_not_the_edges(tmp_path):
    nodes = list(reversed(shop_nodes()))
    graph = graph_from_tables(nodes, shop_edges(), write_images(tmp_path)).graph
    # row r holds node 7 - r: edge (i, i+1) becomes (7 - i, 6 - i)
    assert graph.edge_index.T.tolist()[:2] == [[7, 6], [6, 5]]
    assert graph.node_ids[0] == 17


def write_images(folder):
    from hf_graph4mm.testing.user_graphs import write_images as write

    return write(folder)
