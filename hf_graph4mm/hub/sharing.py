"""Saving a checkpoint folder ready for the Hub, and pushing it.

``save_for_hub`` = ``model.save_pretrained`` + ``processor.save_pretrained`` + the exported code and
``auto_map`` (loads without the package) + ``weights_sha256.json`` + the model card.
``push_to_hub`` uploads that folder in one commit.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi

from .model_card import write_model_card
from .remote_code import add_remote_code
from .safe_loading import write_checksums


def save_for_hub(
    model,
    save_directory: str | os.PathLike,
    processor=None,
    repo_id: str | None = None,
    datasets: list[str] | None = None,
    metrics: dict[str, float] | None = None,
    base_models: list[str] | None = None,
    license: str | None = "apache-2.0",
) -> Path:
    """Write a complete, shareable checkpoint folder; returns it.

    Args:
        processor: the model's processor (a Graph4MM processor, or a tokenizer for a GsiT with a text
            encoder); saved next to the weights.
        repo_id: the name used in the card's snippets (default: the folder's name).
        datasets, metrics, base_models, license: model card metadata.
    """
    directory = Path(save_directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    if processor is not None:
        processor.save_pretrained(directory)
    add_remote_code(model, directory, processor)
    write_checksums(directory)
    write_model_card(
        model,
        directory,
        repo_id=repo_id,
        datasets=datasets,
        metrics=metrics,
        base_models=base_models,
        license=license,
    )
    return directory


def push_to_hub(
    model,
    repo_id: str,
    processor=None,
    commit_message: str = "Upload model with hf-graph4mm",
    private: bool | None = None,
    token: str | bool | None = None,
    **card_kwargs,
):
    """Create ``repo_id`` if needed and upload the :func:`save_for_hub` folder in one commit.

    Returns:
        the ``CommitInfo`` of the commit.
    """
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        save_for_hub(model, folder, processor=processor, repo_id=repo_id, **card_kwargs)
        operations = [
            CommitOperationAdd(path_in_repo=path.relative_to(folder).as_posix(), path_or_fileobj=str(path))
            for path in sorted(Path(folder).rglob("*"))
            if path.is_file()
        ]
        return api.create_commit(repo_id, operations=operations, commit_message=commit_message)
