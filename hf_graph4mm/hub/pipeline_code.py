"""Ship the ``pipeline()`` tasks' code with a checkpoint, as transformers' custom pipelines.

transformers runs a checkpoint's own pipeline when ``config.custom_pipelines`` names the task:
``{task: {"impl": "module.Class", "pt": ["AutoModel..."], "type": ...}}``; ``pipeline(task,
model=..., trust_remote_code=True)`` then imports ``module`` from the checkpoint (as it does
``auto_map``'s model code) and loads the model with the ``pt`` Auto classes.

Where that entry lives is the one choice made here. In ``config.json`` (what
``Pipeline.save_pretrained`` writes) it would also be read by the package's own config class,
and ``pipeline()`` would then refuse the folder without ``trust_remote_code=True`` even with
hf-graph4mm installed, and run the copied code instead of the package's registered task. So the
entry goes on the *exported* config class (an attribute appended to its file): without the
package, ``AutoConfig`` (remote code) carries it exactly as if read from ``config.json``; with the
package, the local config class has none and the registered tasks run.

``hf_graph4mm.pipelines`` registers its tasks here (:func:`register_pipeline_code`); this
module never imports the pipelines (they import the hub for safe loading).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PipelineCode:
    """One ``pipeline()`` task whose code ships with checkpoints of ``model_class``."""

    task: str
    pipeline_class: type
    model_class: type
    auto_class: str  # the transformers Auto class the checkpoint's model loads with ("pt")
    type: str = "multimodal"


PIPELINE_CODE: dict[str, PipelineCode] = {}


def register_pipeline_code(
    task: str, pipeline_class: type, model_class: type, auto_class: str, type: str = "multimodal"
) -> None:
    """Ship ``pipeline_class``'s code as ``task`` with every saved ``model_class`` checkpoint."""
    PIPELINE_CODE[task] = PipelineCode(task, pipeline_class, model_class, auto_class, type)


def pipelines_for(model_class: type) -> list[PipelineCode]:
    """The registered tasks that run checkpoints of ``model_class``, in registration order."""
    return [entry for entry in PIPELINE_CODE.values() if issubclass(model_class, entry.model_class)]


def custom_pipelines(entries: list[PipelineCode], references: dict[str, str]) -> dict[str, dict]:
    """``config.custom_pipelines`` for ``entries`` (``references``: class name -> "module.Class")."""
    return {
        entry.task: {
            "impl": references[entry.pipeline_class.__name__],
            "pt": [entry.auto_class],
            "type": entry.type,
        }
        for entry in entries
    }


_APPENDIX = '''

# ---- added by hf_graph4mm.hub: the pipeline() tasks whose code ships beside this file ----
# transformers reads them as `config.custom_pipelines` (pipeline(task, model=...,
# trust_remote_code=True)). They live on this exported class, not in config.json, so that with
# hf-graph4mm installed its own registered tasks keep running without trust_remote_code.
class _ShippedPipelines:
    """Each read is a fresh copy: pipeline() rewrites the entry it reads. A value set on an
    instance (or read from a config.json) takes precedence, as for any non-data descriptor."""

    def __init__(self, tasks):
        self.tasks = tasks

    def __get__(self, config, owner=None):
        return {task: {**info, "pt": list(info["pt"])} for task, info in self.tasks.items()}


{config_class}.custom_pipelines = _ShippedPipelines({tasks})
'''


def append_custom_pipelines(config_file: Path, config_class_name: str, tasks: dict[str, dict]) -> None:
    """Give the exported config class in ``config_file`` its ``custom_pipelines``."""
    appendix = _APPENDIX.replace("{config_class}", config_class_name).replace(
        "{tasks}", json.dumps(tasks, indent=4, sort_keys=True)
    )
    with open(config_file, "a", encoding="utf-8") as handle:
        handle.write(appendix)


__all__ = [
    "PIPELINE_CODE",
    "PipelineCode",
    "append_custom_pipelines",
    "custom_pipelines",
    "pipelines_for",
    "register_pipeline_code",
]
