"""Extension points that let a layer above the models add to ``save_pretrained`` / ``push_to_hub``.

The models know nothing of ``hf_graph4mm.hub``. They only run whatever is in
:data:`MODEL_SAVE_HOOKS` after transformers has saved them, and hand ``push_to_hub`` to
:data:`MODEL_PUSH_HOOKS` when something is there. ``hf_graph4mm.hub`` fills both when the
package is imported: saving then also writes the model's code and ``auto_map`` (so the folder
loads *without* the package, ``trust_remote_code=True``), and pushing uploads that folder with a
model card. Inside an exported copy of this file (a checkpoint loaded without the package)
nobody registers a hook: saving writes what transformers writes, and pushing is transformers'.
"""

from __future__ import annotations

import os
from collections.abc import Callable

# hook(model, save_directory): runs after the weights and config are written.
MODEL_SAVE_HOOKS: list[Callable[..., None]] = []
# push(model, repo_id, *, commit_message, **kwargs) -> CommitInfo; the last one registered wins.
MODEL_PUSH_HOOKS: list[Callable[..., object]] = []


class ShareableModelMixin:
    """Mixed into our ``PreTrainedModel`` bases, before ``PreTrainedModel`` in the MRO."""

    def save_pretrained(self, save_directory: str | os.PathLike, *args, **kwargs):
        result = super().save_pretrained(save_directory, *args, **kwargs)
        # Only the main process writes files under distributed training, as transformers does.
        if kwargs.get("is_main_process", True):
            for hook in MODEL_SAVE_HOOKS:
                hook(self, save_directory)
        return result

    def push_to_hub(self, repo_id: str, *args, commit_message: str | None = None, **kwargs):
        """Upload the model to ``repo_id``; with hf-graph4mm imported, also its code and a model card.

        Args:
            repo_id: ``"org/name"``.
            kwargs: with the package, ``processor`` (saved alongside), ``private``, ``token`` and
                model-card metadata (``datasets``, ``metrics``, ``base_models``, ``license``).
        """
        if not MODEL_PUSH_HOOKS:
            return super().push_to_hub(repo_id, *args, commit_message=commit_message, **kwargs)
        message = commit_message or "Upload model with hf-graph4mm"
        return MODEL_PUSH_HOOKS[-1](self, repo_id, *args, commit_message=message, **kwargs)
