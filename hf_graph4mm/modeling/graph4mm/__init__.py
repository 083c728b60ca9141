"""Graph4MM: Hop-Diffused Attention + MM-QFormer + a frozen causal LM.

Importing this package registers the configs with ``AutoConfig`` and the model with
``AutoModel`` and ``AutoModelForImageTextToText``.

    >>> model = Graph4MMForConditionalGeneration.from_backbones(
    ...     "openai/clip-vit-base-patch16", "facebook/opt-125m", structure="hop_diffused"
    ... )
    >>> loss = model(**batch).loss                      # batch from Graph4MMProcessor / Graph4MMCollator
    >>> new_tokens = model.generate(**prompts, max_new_tokens=32)
    >>> scores = model.score_candidates(label_ids, candidate_attention_mask=label_mask, **prompts)

Variants are config switches: ``structure`` ("hop_diffused", "hop_aware", "hop_diffused_aware", "none"),
``text_structure`` / ``image_structure`` (ablations), ``fusion="concat"`` (MMGL baseline).
"""

from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText

from .configuration_graph4mm import Graph4MMConfig, Graph4MMQFormerConfig
from .modeling_graph4mm import (
    Graph4MMCandidateScores,
    Graph4MMForConditionalGeneration,
    Graph4MMOutput,
    Graph4MMPreTrainedModel,
)

AutoConfig.register(Graph4MMConfig.model_type, Graph4MMConfig, exist_ok=True)
AutoConfig.register(Graph4MMQFormerConfig.model_type, Graph4MMQFormerConfig, exist_ok=True)
AutoModel.register(Graph4MMConfig, Graph4MMForConditionalGeneration, exist_ok=True)
AutoModelForImageTextToText.register(Graph4MMConfig, Graph4MMForConditionalGeneration, exist_ok=True)

__all__ = [
    "Graph4MMCandidateScores",
    "Graph4MMConfig",
    "Graph4MMForConditionalGeneration",
    "Graph4MMOutput",
    "Graph4MMPreTrainedModel",
    "Graph4MMQFormerConfig",
]
