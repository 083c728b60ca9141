import json
import subprocess
import sys

from PIL import Image
from transformers import AutoModelForSequenceClassification, pipeline

import hf_graph4mm  # noqa: F401  (registers the model types and pipeline tasks)


def test_demo_command_leaves_loadable_checkpoints_metrics_and_plot(tmp_path):
    """`hf-graph4mm demo` end to end (short schedule): artefacts exist and load the standard way."""
    output = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hf_graph4mm.cli",
            "demo",
            "--output_dir",
            str(output),
            "--graph4mm_epochs",
            "1",
            "--gsit_epochs",
            "1",
            "--variants_steps",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Sample prediction" in result.stdout and str(output / "metrics.json") in result.stdout
    from hf_graph4mm.training.demo import TINY_SCORES_NOTE

    assert TINY_SCORES_NOTE in result.stdout  # the table says what a tiny random model's scores mean

    metrics = json.loads((output / "metrics.json").read_text())
    assert {"bleu4", "rougeL", "cider"} <= set(metrics["graph4mm"])
    assert {"acc2_has0", "f1_non0", "acc7", "mae", "corr"} <= set(metrics["gsit"])
    with Image.open(output / "loss_curve.png") as plot:
        assert plot.size[0] > 100 and plot.size[1] > 100
    ablation = metrics["variants"]["summary"]
    assert list(ablation) == ["hop_aware", "hop_diffused", "no_structure"]
    for row in ablation.values():
        assert {"bleu4", "rougeL", "cider", "exact", "seconds"} <= set(row) and row["runs"] == 1
    assert "| Graph4MM Hop-Aware |" in result.stdout and metrics["variants"]["table"] in result.stdout
    with Image.open(output / "variants.png") as chart:
        assert chart.size[0] > 100 and chart.size[1] > 100

    gsit = AutoModelForSequenceClassification.from_pretrained(output / "gsit")
    assert type(gsit).__name__ == "GsiTForSequenceClassification"
    generator = pipeline("graph-text-generation", model=str(output / "graph4mm"))
    assert type(generator.model).__name__ == "Graph4MMForConditionalGeneration"
