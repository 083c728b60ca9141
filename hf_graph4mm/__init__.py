"""hf-graph4mm: Graph4MM and GsiT structure-aware multimodal models for transformers.

Importing the package registers its configs and models with the transformers Auto
classes and its tasks with ``pipeline()``.
"""

# hub: registers the save/push hooks (remote code, card, pipeline code); pipelines: the pipeline tasks
from . import hub, pipelines  # noqa: F401
from .modeling.graph4mm import *  # noqa: F403  (registers Graph4MM with the Auto classes)
from .modeling.gsit import *  # noqa: F403  (registers GsiT with the Auto classes)
from .processing import *  # noqa: F403

__version__ = "0.1.0"
