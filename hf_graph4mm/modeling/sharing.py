"""What every hf-graph4mm model adds to ``save_pretrained`` / ``push_to_hub``.

``save_pretrained`` also writes self-contained copies of the model's code and the
``auto_map`` so the folder loads *without* the package (``trust_remote_code=True``), and
``push_to_hub`` uploads that folder together with a model card. The work itself lives in
``hf_graph4mm.hub``; it is imported when a model is saved, not when it is defined, so the
modeling code keeps no import-time dependency on the layer above it. Inside an exported
copy (a checkpoint loaded without the package) ``hub`` does not exist and saving writes
the weights only.
"""

from __future__ import annotations

import os


def _hub_or_none():
    try:
        from .. import hub
    except ImportError:  # running from an exported checkpoint's flat copy of this file
        return None
    return hub


class ShareableModelMixin:
    """Mixed into our ``PreTrainedModel`` bases, before ``PreTrainedModel`` in the MRO."""

    def save_pretrained(self, save_directory: str | os.PathLike, *args, **kwargs):
        result = super().save_pretrained(save_directory, *args, **kwargs)
        hub = _hub_or_none()
        # Only the main process writes files under distributed training, as transformers does.
        if hub is not None and kwargs.get("is_main_process", True):
            hub.add_remote_code(self, save_directory)
        return result

    def push_to_hub(self, repo_id: str, *, processor=None, commit_message: str | None = None, **kwargs):
        """Upload weights, exported code, checksums and a model card (README.md) in one commit.

        Args:
            repo_id: ``"org/name"``.
            processor: saved alongside (a Graph4MM processor, or a GsiT text tokenizer).
            kwargs: ``private``, ``token``, and model-card metadata (``datasets``, ``metrics``,
                ``base_models``, ``license``).
        """
        hub = _hub_or_none()
        if hub is None:
            raise ImportError("push_to_hub needs the hf-graph4mm package (pip install hf-graph4mm)")
        message = commit_message or "Upload model with hf-graph4mm"
        return hub.push_to_hub(self, repo_id, processor=processor, commit_message=message, **kwargs)
