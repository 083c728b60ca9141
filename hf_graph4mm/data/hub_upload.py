"""Upload a prepared dataset folder (parquet files + card) to the Hub as one commit."""

from __future__ import annotations

from pathlib import Path


def push_dataset_folder(output_dir: str | Path, repo_id: str, private: bool, commit_message: str) -> None:
    """Create the dataset repo if needed and upload every file under ``output_dir`` in one commit."""
    from huggingface_hub import CommitOperationAdd, HfApi

    output_dir = Path(output_dir)
    api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    files = sorted(path for path in output_dir.rglob("*") if path.is_file())
    operations = [CommitOperationAdd(path.relative_to(output_dir).as_posix(), str(path)) for path in files]
    api.create_commit(
        repo_id=repo_id, operations=operations, commit_message=commit_message, repo_type="dataset"
    )
