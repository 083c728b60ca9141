"""The dataset cards we write load with plain ``datasets`` without its "`splits` field in YAML is malformed"
warning (each split entry names num_bytes too)."""

from __future__ import annotations

import logging

import datasets
import yaml

from hf_graph4mm.hub.dataset_folder import write_dataset_card

TEMPLATE = """---
pretty_name: "{{name}}"
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train.parquet
  - split: test
    path: data/test.parquet
---

# {{name}}
"""


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_written_card_loads_without_warnings_and_describes_the_files(tmp_path):
    splits = {
        "train": datasets.Dataset.from_dict({"x": [1, 2, 3], "y": ["a", "b", "c"]}),
        "test": datasets.Dataset.from_dict({"x": [4], "y": ["d"]}),
    }
    (tmp_path / "out" / "data").mkdir(parents=True)
    for split, part in splits.items():
        part.to_parquet(tmp_path / "out" / "data" / f"{split}.parquet")
    template = tmp_path / "card.md"
    template.write_text(TEMPLATE, encoding="utf-8")
    card = write_dataset_card(tmp_path / "out", template, {"default": splits}, {"name": "tiny"})
    header = yaml.safe_load(card.read_text(encoding="utf-8").split("---\n")[1])
    entries = {entry["name"]: entry for entry in header["dataset_info"]["splits"]}
    assert {name: entry["num_examples"] for name, entry in entries.items()} == {"train": 3, "test": 1}
    assert all(isinstance(entry["num_bytes"], int) and entry["num_bytes"] > 0 for entry in entries.values())

    records = _Records()
    logger = logging.getLogger("datasets")
    logger.addHandler(records)
    try:
        loaded = datasets.load_dataset(str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"))
    finally:
        logger.removeHandler(records)
    assert {name: part.num_rows for name, part in loaded.items()} == {"train": 3, "test": 1}
    assert not [m for m in records.messages if "malformed" in m], records.messages
