"""Sharing checkpoints: Hub folders with model cards, code for trust_remote_code, safe loading."""

from .model_card import build_model_card, write_model_card
from .remote_code import add_processor_remote_code, add_remote_code, export_code
from .safe_loading import check_checkpoint, load_checkpoint, resolve_checkpoint
from .sharing import push_to_hub, save_for_hub

__all__ = [
    "add_processor_remote_code",
    "add_remote_code",
    "build_model_card",
    "check_checkpoint",
    "export_code",
    "load_checkpoint",
    "push_to_hub",
    "resolve_checkpoint",
    "save_for_hub",
    "write_model_card",
]
