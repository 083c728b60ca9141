"""``pipeline("graph-text-generation")``: a multimodal graph and a target node -> generated text.

    >>> generator = pipeline("graph-text-generation", model="path/to/graph4mm")
    >>> generator({"graph": graph, "target": 3, "prompt": "Summarise the section:"}, max_new_tokens=32)
    [{'generated_text': '...'}]

Any keyword that is not a pipeline parameter (``max_new_tokens``, ``num_beams``, ``do_sample``...)
goes to ``model.generate``; so does a ``generate_kwargs`` dict. ``return_tensors=True`` returns
``{"generated_token_ids": [...]}`` (the new tokens) instead of the text, as transformers'
text-generation does.
"""

from __future__ import annotations

import torch

from .graph_inputs import parse_graph_input
from .graph_processor import GraphPipeline


class GraphTextGenerationPipeline(GraphPipeline):
    """Generates the text of a target node from its multimodal neighbourhood (Graph4MM)."""

    def _sanitize_parameters(
        self, target=None, prompt=None, generate_kwargs=None, return_tensors=None, **kwargs
    ):
        preprocess, postprocess = {}, {}
        if target is not None:
            preprocess["target"] = target
        if prompt is not None:
            preprocess["prompt"] = prompt
        if return_tensors is not None:
            postprocess["return_tensors"] = bool(return_tensors)
        forward = dict(generate_kwargs or {})
        forward.update(kwargs)
        return preprocess, {"generate_kwargs": forward}, postprocess

    def preprocess(self, inputs, target=None, prompt=None):
        graph, target, prompt = parse_graph_input(inputs, target, prompt)
        return {"items": [self.processor.process_example(graph, target, prompt=prompt)]}

    def _forward(self, model_inputs, generate_kwargs=None):
        batch = self.pad_items(model_inputs["items"])
        with torch.no_grad():
            sequences = self.model.generate(**batch, **(generate_kwargs or {}))
        # generate() returns each prompt followed by its new tokens (as BLIP-2 and LLaVA do): keep the new ones
        return {"generated_token_ids": sequences[:, batch["input_ids"].shape[1] :]}

    def postprocess(self, model_outputs, return_tensors=False):
        token_ids = model_outputs["generated_token_ids"][0]
        if return_tensors:
            return [{"generated_token_ids": token_ids.tolist()}]
        return [{"generated_text": self.processor.decode(token_ids, skip_special_tokens=True)}]
