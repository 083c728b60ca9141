"""A ``Pipeline`` base whose preprocessed items are padded by the pipeline itself.

transformers' default batching pads only the keys it knows (``input_ids``, ``pixel_values``...)
with the tokenizer or image processor. Our items are variable-size subgraphs and feature
sequences, so ``preprocess`` returns ``{"items": [item]}`` (other keys hold one-element lists
too), batches are built by
concatenating those lists, and ``_forward`` pads its list in one place (``pad_items``).
"""

from __future__ import annotations

import collections.abc
from typing import Any

from torch.utils.data import DataLoader
from transformers import Pipeline
from transformers.pipelines.pt_utils import PipelineDataset, PipelineIterator


def concatenate_items(batch: list[dict[str, list]]) -> dict[str, list]:
    """DataLoader collate: ``[{"items": [a]}, {"items": [b]}]`` -> ``{"items": [a, b]}`` (every key)."""
    return {key: [value for entry in batch for value in entry[key]] for key in batch[0]}


class ItemListPipeline(Pipeline):
    """Base of our pipelines: ``preprocess`` -> ``{"items": [item]}``, ``_forward`` gets a list of items."""

    def get_iterator(
        self, inputs, num_workers: int, batch_size: int, preprocess_params, forward_params, postprocess_params
    ):
        if isinstance(inputs, collections.abc.Sized):
            dataset = PipelineDataset(inputs, self.preprocess, preprocess_params)
        else:  # a generator: one worker, or items would be read twice
            dataset, num_workers = PipelineIterator(inputs, self.preprocess, preprocess_params), 0
        dataloader = DataLoader(
            dataset, num_workers=num_workers or 0, batch_size=batch_size, collate_fn=concatenate_items
        )
        model_iterator = PipelineIterator(
            dataloader, self.forward, forward_params, loader_batch_size=batch_size
        )
        return PipelineIterator(model_iterator, self.postprocess, postprocess_params)

    def save_pretrained(self, save_directory, **kwargs):
        """Save the model and its processor or tokenizer; their save hooks add the code (model,
        processor and this pipeline's) and ``custom_pipelines``.

        transformers' own version would copy only this file and its single-dot relative imports
        (ours import across the package) and write ``custom_pipelines`` naming our checkpoint
        loader, which does not exist without the package.
        """
        self.model.save_pretrained(save_directory, **kwargs)
        for part in (getattr(self, "processor", None), self.tokenizer):
            if part is not None:
                part.save_pretrained(save_directory, **kwargs)
                break

    def _move(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Tensors of a padded batch onto the pipeline's device."""
        return {key: value.to(self.device) if hasattr(value, "to") else value for key, value in batch.items()}
