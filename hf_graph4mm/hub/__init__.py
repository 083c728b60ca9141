"""Sharing checkpoints: Hub folders with model cards, code for trust_remote_code, safe loading.

Importing this package installs its save/push hooks into the models and the processor
(:mod:`.save_hooks`); the layers below never import it. Datasets: :mod:`.dataset_folder` (a
prepared dataset folder's card and upload, for ``dataset_scripts/``) is imported on its own, so
that importing the package does not load ``datasets``.
"""

from .model_card import build_model_card, write_model_card
from .pipeline_code import register_pipeline_code
from .remote_code import add_processor_remote_code, add_remote_code, export_code
from .safe_loading import check_checkpoint, load_checkpoint, resolve_checkpoint
from .save_hooks import install_save_hooks
from .sharing import push_to_hub, save_for_hub

install_save_hooks()

__all__ = [
    "add_processor_remote_code",
    "add_remote_code",
    "build_model_card",
    "check_checkpoint",
    "export_code",
    "install_save_hooks",
    "load_checkpoint",
    "push_to_hub",
    "register_pipeline_code",
    "resolve_checkpoint",
    "save_for_hub",
    "write_model_card",
]
