"""What ``hf_graph4mm.hub`` adds to the models' and the processor's ``save_pretrained`` / ``push_to_hub``.

The modeling and processing layers expose hook lists (``modeling.sharing.MODEL_SAVE_HOOKS``,
``MODEL_PUSH_HOOKS``, ``processing.processor.PROCESSOR_SAVE_HOOKS``) and never import this
layer; :func:`install_save_hooks` (run when ``hf_graph4mm.hub`` is imported, which importing
``hf_graph4mm`` does) fills them. So a plain ``model.save_pretrained(folder)`` also writes the
model's and its pipelines' code with ``auto_map``, ``processor.save_pretrained(folder)`` the
processor's, and ``model.push_to_hub(repo)`` uploads weights, code, checksums and a model card.
"""

from __future__ import annotations

import os

from ..modeling.sharing import MODEL_PUSH_HOOKS, MODEL_SAVE_HOOKS
from ..processing.processor import PROCESSOR_SAVE_HOOKS
from .remote_code import add_processor_remote_code, add_remote_code
from .sharing import push_to_hub


def export_model_code(model, save_directory: str | os.PathLike) -> None:
    """Model save hook: the code of the model, its config and its pipeline tasks, and ``auto_map``."""
    add_remote_code(model, save_directory)


def export_processor_code(processor, save_directory: str | os.PathLike) -> None:
    """Processor save hook: the processor's code and ``auto_map`` in processor_config.json."""
    add_processor_remote_code(processor, save_directory)


def push_model(model, repo_id: str, *, commit_message: str, processor=None, **kwargs):
    """Model push hook: :func:`hf_graph4mm.hub.push_to_hub` (``private``, ``token``, card metadata)."""
    return push_to_hub(model, repo_id, processor=processor, commit_message=commit_message, **kwargs)


def install_save_hooks() -> None:
    """Register the hooks above (idempotent)."""
    for hooks, hook in (
        (MODEL_SAVE_HOOKS, export_model_code),
        (PROCESSOR_SAVE_HOOKS, export_processor_code),
        (MODEL_PUSH_HOOKS, push_model),
    ):
        if hook not in hooks:
            hooks.append(hook)


__all__ = ["export_model_code", "export_processor_code", "install_save_hooks", "push_model"]
