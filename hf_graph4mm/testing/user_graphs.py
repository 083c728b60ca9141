"""A small shop graph in the user formats of :mod:`hf_graph4mm.data.user_graph`, for tests and docs.

``shop_nodes()`` / ``shop_edges()``: eight products (``p0`` ... ``p7`` or ids 10 ... 17), texts on
all but one, a real PNG image on four, labels ``hat`` / ``shoe``, edges along a path plus one
chord, each typed ``bought_with``. Hand-checkable facts the tests rely on:

- node ``i`` has id ``10 + i`` (integer ids) or ``"p{i}"`` (string ids); edges join ``i`` and
  ``i + 1`` for ``i = 0..6`` plus ``(0, 4)``, so edge ``k`` is ``(k, k + 1)`` for ``k < 7`` and edge 7 is ``(0, 4)``;
- nodes 0, 2, 4, 6 are hats; 1, 3, 5, 7 shoes; node 5 has no text (its image only);
- images ``img0.png`` ... ``img3.png`` (8 x 8, one colour each) belong to nodes 0, 3, 5, 6.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

NUM_SHOP_NODES = 8
IMAGE_OF_NODE = {0: "img0.png", 3: "img1.png", 5: "img2.png", 6: "img3.png"}
COLOURS = {
    "img0.png": (200, 30, 30),
    "img1.png": (30, 200, 30),
    "img2.png": (30, 30, 200),
    "img3.png": (200, 200, 30),
}
SHOP_EDGES = [(i, i + 1) for i in range(NUM_SHOP_NODES - 1)] + [(0, 4)]


def png_bytes(colour: tuple[int, int, int], size: int = 8) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def shop_node_id(index: int, string_ids: bool = False):
    return f"p{index}" if string_ids else 10 + index


def shop_nodes(string_ids: bool = False, embed_images: bool = False) -> list[dict]:
    """Rows of the nodes table; images as file names (in the images folder) or as PNG bytes."""
    rows = []
    for index in range(NUM_SHOP_NODES):
        label = "hat" if index % 2 == 0 else "shoe"
        image = IMAGE_OF_NODE.get(index)
        if image is not None and embed_images:
            image = png_bytes(COLOURS[image])
        rows.append(
            {
                "id": shop_node_id(index, string_ids),
                "text": None if index == 5 else f"product {index}: a {label} in size {36 + index}",
                "image": image,
                "label": label,
            }
        )
    return rows


def shop_edges(string_ids: bool = False) -> list[dict]:
    return [
        {"source": shop_node_id(s, string_ids), "target": shop_node_id(t, string_ids), "type": "bought_with"}
        for s, t in SHOP_EDGES
    ]


def write_images(folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, colour in COLOURS.items():
        (folder / name).write_bytes(png_bytes(colour))
    return folder


def _write(rows: list[dict], path: Path) -> Path:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        return path
    import pyarrow as pa

    table = pa.Table.from_pylist(rows)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    return path


@dataclass(frozen=True)
class ShopFiles:
    nodes: Path
    edges: Path
    images_dir: Path


def write_shop_tables(folder: str | Path, suffix: str = ".parquet", string_ids: bool = False) -> ShopFiles:
    """``nodes{suffix}``, ``edges{suffix}`` (``.parquet``, ``.csv`` or ``.jsonl``) and ``images/`` in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return ShopFiles(
        nodes=_write(shop_nodes(string_ids), folder / f"nodes{suffix}"),
        edges=_write(shop_edges(string_ids), folder / f"edges{suffix}"),
        images_dir=write_images(folder / "images"),
    )


def shop_pyg_data():
    """The shop as a PyG ``Data``: ``text``, ``image`` (PNG bytes), ``y`` (0 = hat, 1 = shoe), both
    edge directions (PyG's undirected convention). Label names: ``("hat", "shoe")``."""
    import torch
    from torch_geometric.data import Data

    nodes = shop_nodes(embed_images=True)
    pairs = SHOP_EDGES + [(t, s) for s, t in SHOP_EDGES]
    return Data(
        edge_index=torch.tensor(pairs, dtype=torch.long).T.contiguous(),
        num_nodes=NUM_SHOP_NODES,
        text=[row["text"] for row in nodes],
        image=[row["image"] for row in nodes],
        y=torch.tensor([0 if row["label"] == "hat" else 1 for row in nodes]),
    )
