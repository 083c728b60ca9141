"""pipeline() tasks, registered with transformers on import.

- "graph-text-generation": graph + target node (+ prompt) -> generated text (Graph4MM);
- "zero-shot-node-classification": graph + target node + candidate labels -> sorted labels/scores;
- "multimodal-sentiment-analysis": text, audio, vision -> sentiment score and label (GsiT).

Importing this package also registers ``Graph4MMProcessor`` with ``AutoProcessor``, without
which ``AutoProcessor.from_pretrained`` (and so ``pipeline(task, model=folder)``) would
silently return the bare tokenizer.
"""

from transformers import AutoProcessor
from transformers.pipelines import PIPELINE_REGISTRY

from ..hub.pipeline_code import register_pipeline_code
from ..hub.safe_loading import safe_model_loader
from ..modeling.graph4mm import Graph4MMConfig, Graph4MMForConditionalGeneration
from ..modeling.gsit import GsiTForSequenceClassification
from ..processing import Graph4MMProcessor
from .graph_text_generation import GraphTextGenerationPipeline
from .multimodal_sentiment_analysis import MultimodalSentimentAnalysisPipeline, sentiment_label
from .zero_shot_node_classification import ZeroShotNodeClassificationPipeline

TASKS = {
    "graph-text-generation": (GraphTextGenerationPipeline, Graph4MMForConditionalGeneration),
    "zero-shot-node-classification": (ZeroShotNodeClassificationPipeline, Graph4MMForConditionalGeneration),
    "multimodal-sentiment-analysis": (MultimodalSentimentAnalysisPipeline, GsiTForSequenceClassification),
}
# the transformers Auto class each task's model loads with where the package is not installed
REMOTE_AUTO_CLASS = {
    "graph-text-generation": "AutoModelForImageTextToText",
    "zero-shot-node-classification": "AutoModelForImageTextToText",
    "multimodal-sentiment-analysis": "AutoModelForSequenceClassification",
}

AutoProcessor.register(Graph4MMConfig, Graph4MMProcessor, exist_ok=True)
for _task, (_pipeline_class, _model_class) in TASKS.items():
    # a folder or repo id is checked (safetensors only, intact, right model_type) before loading
    _loader = safe_model_loader(_model_class, _model_class.config_class.model_type)
    PIPELINE_REGISTRY.register_pipeline(
        _task, pipeline_class=_pipeline_class, pt_model=_loader, type="multimodal"
    )
    # saved checkpoints carry the task's code, for pipeline(..., trust_remote_code=True) without us
    register_pipeline_code(_task, _pipeline_class, _model_class, REMOTE_AUTO_CLASS[_task])

__all__ = [
    "TASKS",
    "GraphTextGenerationPipeline",
    "MultimodalSentimentAnalysisPipeline",
    "ZeroShotNodeClassificationPipeline",
    "sentiment_label",
]
