"""What the two Graph4MM pipelines share: finding the processor, and padding their items."""

from __future__ import annotations

import os
from typing import Any

from ..processing import Graph4MMProcessor
from ..processing.collator import pad_examples
from .batching import ItemListPipeline


def resolve_graph_processor(model, processor) -> Graph4MMProcessor:
    """The processor given, else the one saved next to the model's weights.

    Raises:
        ValueError: no processor given and none saved in the model's folder, or one whose
            placeholder count does not match the model.
    """
    if processor is None:
        folder = getattr(model, "name_or_path", None) or ""
        if os.path.isdir(folder) and os.path.isfile(os.path.join(folder, "processor_config.json")):
            processor = Graph4MMProcessor.from_pretrained(folder)
        else:
            raise ValueError(
                "this pipeline needs a Graph4MMProcessor: pass processor=... or a model folder where "
                "processor.save_pretrained() wrote processor_config.json"
            )
    # by capability, not isinstance: loaded as remote code, the processor and this pipeline come
    # from separate copies of the processing module (transformers keys local code by file hash)
    if not all(hasattr(processor, name) for name in ("process_example", "num_query_tokens", "tokenizer")):
        raise ValueError(f"expected a Graph4MMProcessor, got {type(processor).__name__}")
    expected = getattr(model.config, "num_query_tokens", None)
    if expected is not None and processor.num_query_tokens != expected:
        raise ValueError(
            f"the processor writes {processor.num_query_tokens} <image> placeholders but the model "
            f"expects {expected} (num_query_tokens_per_image x max_image_nodes)"
        )
    return processor


class GraphPipeline(ItemListPipeline):
    """Base of the Graph4MM pipelines: items are unpadded processor examples, padded on the left."""

    _load_processor = None  # loaded from the model folder when there is one; else resolve_graph_processor
    _load_tokenizer = False
    _load_image_processor = False
    _load_feature_extractor = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.processor = resolve_graph_processor(self.model, self.processor)
        self.tokenizer = self.processor.tokenizer

    def pad_items(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """Examples from ``process_example`` -> one left-padded batch (docs/CONTRACTS.md) on the device."""
        batch = pad_examples(
            items,
            pad_token_id=self.tokenizer.pad_token_id,
            image_size=self.processor._image_size(),
            padding_side="left",  # generation and candidate scoring continue after the last position
        )
        return self._move(dict(batch))
