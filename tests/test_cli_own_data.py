"""Your own ragged sentiment features, end to end in fresh processes: written as parquet and as a .npy
folder, trained through the CLI (and through transformers.Trainer), evaluated, predicted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hf_graph4mm import GsiTForSequenceClassification
from hf_graph4mm.metrics.msa import compute_msa_metrics
from hf_graph4mm.testing.sentiment_features import (
    ragged_sentiment_rows,
    split_rows,
    write_sentiment_npy,
    write_sentiment_parquet,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = ["--hidden_size", "16", "--num_attention_heads", "2", "--num_layers", "1"]


def run_cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "hf_graph4mm_cli", *argv], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def own_features(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own")
    rows = ragged_sentiment_rows(16, seed=3)
    splits = split_rows(rows)
    return (
        folder,
        splits,
        write_sentiment_parquet(folder / "parquet", splits),
        write_sentiment_npy(folder / "npy", splits),
    )


def alone_predictions(model, rows) -> np.ndarray:
    """Each utterance through the model on its own, unpadded (no collator): the independent reference."""
    scores = []
    with torch.no_grad():
        for row in rows:
            inputs = {f"{m}_features": torch.from_numpy(row[m])[None] for m in ("text", "audio", "vision")}
            scores.append(float(model(**inputs).logits.reshape(-1)[0]))
    return np.asarray(scores)


def test_cli_trains_on_parquet_evaluates_on_npy_and_predicts(own_features, tmp_path):
    _, splits, parquet, npy = own_features
    output = tmp_path / "run"
    run_cli(
        "train", "--model_family", "gsit", "--dataset", str(parquet), *TINY, "--max_steps", "3",
        "--per_device_train_batch_size", "4", "--output_dir", str(output), "--report_to", "none",
        "--use_cpu", "true", "--save_strategy", "no", "--seed", "1",
        cwd=tmp_path,
    )  # fmt: skip
    model = GsiTForSequenceClassification.from_pretrained(output).eval()
    assert (model.config.text_dim, model.config.audio_dim, model.config.vision_dim) == tuple(
        splits["train"][0][m].shape[1] for m in ("text", "audio", "vision")
    )
    expected_scores = alone_predictions(model, splits["test"])
    labels = np.asarray([row["label"] for row in splits["test"]], dtype=np.float32)
    expected = compute_msa_metrics(expected_scores, labels, "mosi")

    trained = json.loads((output / "test_metrics.json").read_text())
    assert trained["test_mae"] == pytest.approx(expected["mae"], abs=1e-4)

    run_cli("evaluate", "--model", str(output), "--dataset", str(npy), cwd=tmp_path)
    evaluated = json.loads((output / "eval_metrics.json").read_text())
    for name in ("mae", "corr", "acc2_non0", "acc7"):
        assert evaluated[name] == pytest.approx(expected[name], abs=1e-4), name

    predictions = tmp_path / "preds.jsonl"
    run_cli(
        "predict", "--model", str(output), "--dataset", str(npy), "--output", str(predictions), cwd=tmp_path
    )
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [r["id"] for r in records] == [row["id"] for row in splits["test"]]
    np.testing.assert_allclose([r["score"] for r in records], expected_scores, atol=1e-4)


TRAINER_SCRIPT = """
import json, sys
from transformers import Trainer, TrainingArguments
from hf_graph4mm import GsiTConfig, GsiTForSequenceClassification, GsiTCollator
from hf_graph4mm.data.sentiment import load_sentiment_features

data = load_sentiment_features(sys.argv[1]).with_format("numpy")
first = data["train"][0]
config = GsiTConfig(text_dim=first["text_features"].shape[1], audio_dim=first["audio_features"].shape[1],
                    vision_dim=first["vision_features"].shape[1], hidden_size=16, num_attention_heads=2, num_layers=1,
                    text_kernel_size=3, audio_kernel_size=5, vision_kernel_size=1)
model = GsiTForSequenceClassification(config)
args = TrainingArguments(sys.argv[2], max_steps=3, per_device_train_batch_size=4, report_to="none", use_cpu=True,
                         remove_unused_columns=False, save_strategy="no")
trainer = Trainer(model=model, args=args, train_dataset=data["train"], data_collator=GsiTCollator.from_config(config))
trainer.train()
print(json.dumps(trainer.evaluate(data["test"])))
"""


# npy only: the CLI test above trains on the parquet layout; this one trains on the other
@pytest.mark.parametrize("layout", ["npy"])
def test_transformers_trainer_trains_on_own_features_with_the_collator(own_features, tmp_path, layout):
    folder = own_features[2] if layout == "parquet" else own_features[3]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", TRAINER_SCRIPT, str(folder), str(tmp_path / "trainer")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert np.isfinite(metrics["eval_loss"]) and metrics["eval_loss"] > 0
