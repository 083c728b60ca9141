"""Graph4MM: Hop-Diffused Attention + MM-QFormer + a frozen causal LM.

Importing this package registers the configs with ``AutoConfig`` and the model with
``AutoModel`` and ``AutoModelForImageTextToText``.
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
