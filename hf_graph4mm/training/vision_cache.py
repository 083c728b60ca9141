"""Run the frozen vision encoder once per image and reuse its outputs in every epoch.

The paper freezes CLIP, so an image's pooled embedding never changes during training:
computing it once per distinct image (not once per sample per epoch) removes the most
expensive part of a Graph4MM step. The cache maps :func:`image_cache_key` (absolute
path or content hash) to a ``[vision_width]`` vector and is saved as safetensors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..processing import MultimodalGraph
from ..processing.graph import image_cache_key, load_image


class VisionFeatureCache(Mapping):
    """``{image key: [width] tensor}``; ``Graph4MMCollator(vision_cache=...)`` consumes it."""

    def __init__(self, keys: list[str], features: torch.Tensor):
        if features.dim() != 2 or features.shape[0] != len(keys):
            raise ValueError(
                f"need one [width] row per key: {len(keys)} keys, features {list(features.shape)}"
            )
        self._index = {key: row for row, key in enumerate(keys)}
        if len(self._index) != len(keys):
            raise ValueError("duplicate image keys in the vision-feature cache")
        self.features = features

    @property
    def width(self) -> int:
        return int(self.features.shape[1])

    def __getitem__(self, key: str) -> torch.Tensor:
        return self.features[self._index[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    # ------------------------------------------------------------------ building
    @classmethod
    @torch.no_grad()
    def build(cls, model, processor, images: Iterable, batch_size: int = 32) -> VisionFeatureCache:
        """Encode every distinct image once with ``model.encode_images``.

        Args:
            model: a Graph4MM model whose vision encoder is frozen.
            processor: its processor (the image processor prepares the pixels).
            images: image references (paths, bytes, ``datasets.Image`` cells); repeats are skipped.
        """
        if any(parameter.requires_grad for parameter in model.vision_model.parameters()):
            raise ValueError(
                "a vision-feature cache needs a frozen vision encoder (freeze_vision_model=True)"
            )
        unique: dict[str, object] = {}
        for image in images:
            unique.setdefault(image_cache_key(image), image)
        keys = list(unique)
        device = next(model.parameters()).device
        rows = []
        model.eval()
        for start in range(0, len(keys), batch_size):
            chunk = [load_image(unique[key]) for key in keys[start : start + batch_size]]
            pixels = processor.image_processor(images=chunk, return_tensors="pt")["pixel_values"]
            rows.append(model.encode_images(pixels.to(device)).float().cpu())
        width = model.config.vision_config.hidden_size
        features = torch.cat(rows) if rows else torch.zeros(0, width)
        return cls(keys, features)

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(
            {"features": self.features.contiguous()}, path, metadata={"keys": json.dumps(list(self._index))}
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> VisionFeatureCache:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        if "keys" not in metadata:
            raise ValueError(f"{path}: not a vision-feature cache (no 'keys' metadata)")
        return cls(json.loads(metadata["keys"]), load_file(str(path))["features"])


def images_of_rows(rows: Iterable[dict], shared_graph: MultimodalGraph | None = None) -> Iterator:
    """Every image reference in a dataset's graphs (or in its one shared graph)."""
    if shared_graph is not None:
        yield from (image for image in shared_graph.images if image is not None)
        return
    for row in rows:
        yield from (image for image in row["graph"]["images"] if image is not None)
