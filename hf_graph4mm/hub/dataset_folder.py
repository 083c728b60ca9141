"""A prepared dataset folder (parquet files + card): its card written from the data, its upload to the Hub."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import datasets
import yaml


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


def write_dataset_card(
    output_dir: str | Path,
    template: str | Path,
    configs: Mapping[str, Mapping[str, datasets.Dataset]],
    replacements: Mapping[str, str] | None = None,
) -> Path:
    """Write ``output_dir/README.md`` from a card template whose YAML header lists the ``configs``.

    The header gains a ``dataset_info`` entry per config (features and split sizes of the
    datasets actually written, so ``load_dataset`` on the folder or its Hub copy sees the
    same schema as the parquet files), and each config keeps only the ``data_files`` of the
    splits that exist. ``{{key}}`` placeholders in the template are replaced first.

    Args:
        configs: config name -> split name -> the dataset written for it.
        replacements: placeholder name -> text.
    """
    text = Path(template).read_text(encoding="utf-8")
    for key, value in (replacements or {}).items():
        text = text.replace("{{" + key + "}}", value)
    _, header, body = text.split("---\n", 2)
    metadata = yaml.safe_load(header)
    declared = {entry["config_name"] for entry in metadata["configs"]}
    if declared != set(configs):
        raise ValueError(
            f"{template}: the card declares configs {sorted(declared)}, the script wrote {sorted(configs)}"
        )
    infos = []
    for entry in metadata["configs"]:
        splits = configs[entry["config_name"]]
        entry["data_files"] = [files for files in entry["data_files"] if files["split"] in splits]
        missing = sorted(set(splits) - {files["split"] for files in entry["data_files"]})
        if missing:
            raise ValueError(
                f"{template}: config {entry['config_name']!r} lists no data_files for splits {missing}"
            )
        first = next(iter(splits.values()))
        infos.append(
            {
                "config_name": entry["config_name"],
                "features": first.features._to_yaml_list(),  # datasets' own card serialisation
                # name, num_bytes and num_examples: datasets calls a split entry without all three malformed
                "splits": [
                    {"name": name, "num_bytes": int(part.data.nbytes), "num_examples": len(part)}
                    for name, part in splits.items()
                ],
            }
        )
    metadata["dataset_info"] = infos[0] if len(infos) == 1 else infos
    path = Path(output_dir) / "README.md"
    path.write_text("---\n" + yaml.safe_dump(metadata, sort_keys=False) + "---\n" + body, encoding="utf-8")
    return path
