"""Finding the Graph4MM processor of a pipeline whose caller gave only the model."""

from __future__ import annotations

import os

from ..processing import Graph4MMProcessor


def resolve_graph_processor(model, processor) -> Graph4MMProcessor:
    """The processor given, else the one saved next to the model's weights.

    Raises:
        ValueError: no processor given and none saved in the model's folder.
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
    if not isinstance(processor, Graph4MMProcessor):
        raise ValueError(f"expected a Graph4MMProcessor, got {type(processor).__name__}")
    expected = getattr(model.config, "num_query_tokens", None)
    if expected is not None and processor.num_query_tokens != expected:
        raise ValueError(
            f"the processor writes {processor.num_query_tokens} <image> placeholders but the model "
            f"expects {expected} (num_query_tokens_per_image x max_image_nodes)"
        )
    return processor
