"""``pipeline("graph-text-generation")``: a multimodal graph and a target node -> generated text.

    >>> generator = pipeline("graph-text-generation", model="path/to/graph4mm")
    >>> generator({"graph": graph, "target": 3, "prompt": "Summarise the section:"}, max_new_tokens=32)
    [{'generated_text': '...'}]

Any keyword that is not a pipeline parameter (``max_new_tokens``, ``num_beams``, ``do_sample``...)
goes to ``model.generate``; so does a ``generate_kwargs`` dict.
"""

from __future__ import annotations

import torch

from ..processing.collator import pad_examples
from .batching import ItemListPipeline
from .graph_inputs import parse_graph_input
from .graph_processor import resolve_graph_processor


class GraphTextGenerationPipeline(ItemListPipeline):
    """Generates the text of a target node from its multimodal neighbourhood (Graph4MM)."""

    _load_processor = None  # loaded from the model folder when there is one; else resolve_graph_processor
    _load_tokenizer = False
    _load_image_processor = False
    _load_feature_extractor = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.processor = resolve_graph_processor(self.model, self.processor)
        self.tokenizer = self.processor.tokenizer

    def _sanitize_parameters(self, target=None, prompt=None, generate_kwargs=None, **kwargs):
        preprocess = {}
        if target is not None:
            preprocess["target"] = target
        if prompt is not None:
            preprocess["prompt"] = prompt
        forward = dict(generate_kwargs or {})
        forward.update(kwargs)
        return preprocess, {"generate_kwargs": forward}, {}

    def preprocess(self, inputs, target=None, prompt=None):
        graph, target, prompt = parse_graph_input(inputs, target, prompt)
        return {"items": [self.processor.process_example(graph, target, prompt=prompt)]}

    def _forward(self, model_inputs, generate_kwargs=None):
        batch = pad_examples(
            model_inputs["items"],
            pad_token_id=self.processor.tokenizer.pad_token_id,
            image_size=self.processor._image_size(),
            padding_side="left",
        )
        batch = self._move(dict(batch))
        with torch.no_grad():
            new_tokens = self.model.generate(**batch, **(generate_kwargs or {}))
        return {"generated_token_ids": new_tokens}

    def postprocess(self, model_outputs):
        token_ids = model_outputs["generated_token_ids"][0]
        return [{"generated_text": self.processor.decode(token_ids, skip_special_tokens=True)}]
