"""A user's whole path with their own graph, run in a fresh process by tests/test_user_graph_journey.py.

    python -m hf_graph4mm.testing.user_graph_journey WORKDIR

1. the shop (:mod:`.user_graphs`) written as parquet tables with PNG files, built with the console
   command ``hf-graph4mm build-graph``; the same shop as a PyG ``Data`` built with
   ``MultimodalGraph.from_pyg`` + ``write_graph_dataset``;
2. each trained for a step through ``hf-graph4mm train`` (a tiny model) and through
   ``transformers.Trainer`` (``Graph4MMProcessor.for_model``, ``Graph4MMCollator``,
   ``remove_unused_columns=False``);
3. each checkpoint evaluated (``hf-graph4mm evaluate --task classification``) and predicted
   (``hf-graph4mm predict --candidate_labels DATASET/labels.json``).

Writes ``WORKDIR/journey.json``: for every (graph, trainer) pair the metrics files and prediction
lines, which the test checks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TRAIN_FLAGS = [
    "--max_length", "128", "--max_target_length", "16", "--max_node_tokens", "16",
    "--max_steps", "1", "--per_device_train_batch_size", "2", "--report_to", "none",
    "--use_cpu", "true", "--save_strategy", "no",
]  # fmt: skip
PROMPT = "What is this product?"  # stored in every row: train, evaluate and predict all read it


def _build(workdir: Path) -> dict[str, Path]:
    from ..cli import main as cli
    from ..data.user_graph import write_graph_dataset
    from ..processing import MultimodalGraph
    from .user_graphs import shop_pyg_data, write_shop_tables

    files = write_shop_tables(workdir / "tables", ".parquet")
    parquet = workdir / "shop-parquet"
    assert cli([
        "build-graph", "--nodes", str(files.nodes), "--edges", str(files.edges),
        "--images-dir", str(files.images_dir), "--output", str(parquet),
        "--verbalizers", str(_verbalizers(workdir)), "--prompt", PROMPT, "--split-fractions", "0.5,0,0.5",
    ]) == 0  # fmt: skip
    pyg = workdir / "shop-pyg"
    graph = MultimodalGraph.from_pyg(shop_pyg_data(), label_names=["hat", "shoe"], name="shop-pyg")
    write_graph_dataset(
        graph, pyg, verbalizers={"shoe": "a pair of shoes"}, seed=1, prompt=PROMPT, fractions=(0.5, 0, 0.5)
    )
    return {"parquet": parquet, "pyg": pyg}


def _verbalizers(workdir: Path) -> Path:
    path = workdir / "verbalizers.json"
    path.write_text(json.dumps({"shoe": "a pair of shoes"}))
    return path


def _train_with_trainer(dataset: Path, output: Path) -> None:
    import torch
    from transformers import Trainer, TrainingArguments

    from ..data.user_graph import load_graph_dataset
    from ..modeling.graph4mm import Graph4MMForConditionalGeneration
    from ..processing import Graph4MMCollator, Graph4MMProcessor
    from . import build_tiny_image_processor, build_tiny_tokenizer, tiny_graph4mm_config

    examples, graph = load_graph_dataset(dataset)
    torch.manual_seed(0)
    model = Graph4MMForConditionalGeneration(tiny_graph4mm_config())
    processor = Graph4MMProcessor.for_model(
        model, build_tiny_image_processor(), build_tiny_tokenizer(), max_length=128, max_target_length=16
    )
    collator = Graph4MMCollator(processor, graph=graph, model=model)
    args = TrainingArguments(
        output_dir=str(output), max_steps=1, per_device_train_batch_size=2, report_to="none",
        use_cpu=True, save_strategy="no", remove_unused_columns=False,
    )  # fmt: skip
    Trainer(model=model, args=args, train_dataset=examples["train"], data_collator=collator).train()
    model.save_pretrained(output)
    processor.save_pretrained(output)


def main(workdir: str) -> int:
    import torch

    from ..cli import main as cli

    torch.set_num_threads(1)
    workdir = Path(workdir)
    report = {}
    for name, dataset in _build(workdir).items():
        for trainer in ("cli", "trainer"):
            model = workdir / f"model-{name}-{trainer}"
            if trainer == "cli":
                assert (
                    cli(["train", "--dataset", str(dataset), "--output_dir", str(model), *TRAIN_FLAGS]) == 0
                )
            else:
                _train_with_trainer(dataset, model)
            metrics = workdir / f"eval-{name}-{trainer}.json"
            assert cli([
                "evaluate", "--model", str(model), "--dataset", str(dataset), "--split", "test",
                "--task", "classification", "--output", str(metrics),
            ]) == 0  # fmt: skip
            predictions = workdir / f"predictions-{name}-{trainer}.jsonl"
            assert cli([
                "predict", "--model", str(model), "--dataset", str(dataset), "--split", "test",
                "--output", str(predictions), "--candidate_labels", str(dataset / "labels.json"),
            ]) == 0  # fmt: skip
            report[f"{name}/{trainer}"] = {
                "metrics": json.loads(metrics.read_text()),
                "predictions": [json.loads(line) for line in predictions.read_text().splitlines()],
            }
    (workdir / "journey.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
