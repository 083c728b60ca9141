"""GsiT: graph-structured interlaced-masked multimodal transformer, and its MulT baseline.

Importing this package registers ``GsiTConfig`` (model_type "gsit") with ``AutoConfig`` and
the models with ``AutoModel`` / ``AutoModelForSequenceClassification``.
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from .configuration_gsit import GsiTConfig
from .modeling_gsit import (
    GsiTForSequenceClassification,
    GsiTModel,
    GsiTModelOutput,
    GsiTPreTrainedModel,
    GsiTSequenceClassifierOutput,
)

AutoConfig.register(GsiTConfig.model_type, GsiTConfig, exist_ok=True)
AutoModel.register(GsiTConfig, GsiTModel, exist_ok=True)
AutoModelForSequenceClassification.register(GsiTConfig, GsiTForSequenceClassification, exist_ok=True)

__all__ = [
    "GsiTConfig",
    "GsiTForSequenceClassification",
    "GsiTModel",
    "GsiTModelOutput",
    "GsiTPreTrainedModel",
    "GsiTSequenceClassifierOutput",
]
