"""A small synthetic Ele-Fashion release in the MM-Graph layout (the bundled sample, test fixtures)."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import numpy as np
import torch

from ...data.ele_fashion.files import (
    EDGES_FILE,
    IMAGE_FOLDER,
    IMAGE_TAR,
    LABEL_NAMES_FILE,
    LABELS_FILE,
    NODE_MAPPING_FILE,
    NUM_CLASSES,
    SPLIT_FILE,
    TEXT_FILE,
)
from . import SAMPLE_DATA

SAMPLE_RAW_DIR = SAMPLE_DATA / "ele_fashion"
SAMPLE_LABEL_NAMES = (
    "headphones", "phone case", "smart watch", "camera", "charger",
    "t-shirt", "dress", "sneakers", "handbag", "sunglasses", "jacket",
)  # fmt: skip
_SAMPLE_DETAILS = (
    ("with soft ear cushions and deep bass", "that fold flat for travel"),
    ("with a slim shockproof shell", "that protects the screen from drops"),
    ("that tracks steps and heart rate", "with a bright touch display"),
    ("with a sharp zoom lens", "that records smooth video"),
    ("with fast charging over usb", "that powers two phones at once"),
    ("made of soft cotton with a round neck", "with short sleeves and a relaxed fit"),
    ("with a flowing skirt for summer evenings", "with thin straps and a fitted waist"),
    ("with a cushioned sole for running", "with breathable mesh and white laces"),
    ("made of leather with a long strap", "with a zip pocket and gold buckle"),
    ("with polarized lenses and a metal frame", "that block glare at the beach"),
    ("with a warm lining and a hood", "that keeps out wind and rain"),
)
_SAMPLE_COLOURS = ("black", "white", "red", "blue", "green", "grey", "pink", "brown")


def write_ele_fashion_sample(
    out_dir: str | os.PathLike,
    *,
    nodes_per_class: int = 8,
    unlabelled_fraction: float = 0.1,
    image_fraction: float = 0.75,
    images_as: str = "folder",
    text_keys: tuple[str, str] = ("asin", "raw_text"),
    seed: int = 0,
) -> Path:
    """Write a small synthetic release in the MM-Graph layout (``images_as`` ``"folder"``/``"tar"``/``"none"``).

    Texts come from per-class templates and edges mostly join products of the same class,
    so a tiny model can learn the classes. Returns ``out_dir``.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    (out_dir / "raw-data").mkdir(parents=True, exist_ok=True)
    classes = np.repeat(np.arange(NUM_CLASSES), nodes_per_class)
    rng.shuffle(classes)
    num_nodes = classes.shape[0]
    letters = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"))
    raw_ids = [f"B0{''.join(rng.choice(letters, 8))}" for _ in range(num_nodes)]
    labels = np.where(rng.random(num_nodes) < unlabelled_fraction, -1, classes)
    edges = set()
    for node, cls in enumerate(classes):
        same = np.flatnonzero((classes == cls) & (np.arange(num_nodes) != node))
        for other in rng.choice(same, size=min(2, same.size), replace=False):
            edges.add((min(node, int(other)), max(node, int(other))))
        if rng.random() < 0.3:  # a few cross-class co-purchases
            other = int(rng.integers(num_nodes))
            if other != node:
                edges.add((min(node, other), max(node, other)))
    order = rng.permutation(num_nodes)
    cut_train, cut_val = int(0.6 * num_nodes), int(0.8 * num_nodes)
    torch.save(torch.tensor(sorted(edges), dtype=torch.int64), out_dir / EDGES_FILE)
    torch.save(torch.tensor(labels, dtype=torch.int64), out_dir / LABELS_FILE)
    split = {"train_idx": order[:cut_train], "val_idx": order[cut_train:cut_val], "test_idx": order[cut_val:]}
    torch.save({key: torch.tensor(np.sort(value)) for key, value in split.items()}, out_dir / SPLIT_FILE)
    torch.save({raw_id: index for index, raw_id in enumerate(raw_ids)}, out_dir / NODE_MAPPING_FILE)
    (out_dir / LABEL_NAMES_FILE).write_text(
        json.dumps(list(SAMPLE_LABEL_NAMES), indent=1) + "\n", encoding="utf-8"
    )
    id_key, text_key = text_keys
    with open(out_dir / "raw-data" / TEXT_FILE, "w", encoding="utf-8") as handle:
        for raw_id, cls in zip(raw_ids, classes):
            colour = _SAMPLE_COLOURS[int(rng.integers(len(_SAMPLE_COLOURS)))]
            detail = _SAMPLE_DETAILS[cls][int(rng.integers(2))]
            text = f"A {colour} {SAMPLE_LABEL_NAMES[cls]} {detail}."
            handle.write(json.dumps({id_key: raw_id, text_key: text}) + "\n")
    if images_as != "none":
        image_root = out_dir / "raw-data" / IMAGE_FOLDER
        image_root.mkdir(exist_ok=True)
        for raw_id, cls in zip(raw_ids, classes):
            if rng.random() >= image_fraction:
                continue
            # A class-specific hue plus noise: different enough per class to be learnable.
            hue = np.array(
                [(cls * 97) % 256, (cls * 53 + 80) % 256, (cls * 29 + 160) % 256], dtype=np.float32
            )
            pixels = np.clip(hue + rng.normal(0, 25, size=(16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(image_root / f"{raw_id}.jpg", quality=70)
        if images_as == "tar":
            with tarfile.open(out_dir / "raw-data" / IMAGE_TAR, "w") as archive:
                archive.add(image_root, arcname=IMAGE_FOLDER)
            for path in image_root.iterdir():
                path.unlink()
            image_root.rmdir()
    return out_dir


def write_ele_fashion_sample_data(out_dir: str | os.PathLike) -> Path:
    """The bundled sample (``hf_graph4mm/sample_data/ele_fashion``): 88 products, images in a folder."""
    return write_ele_fashion_sample(out_dir)
