"""Checkpoints load with the package (local classes) and without it (exported code, trust_remote_code)."""

from __future__ import annotations

import ast
import json

import pytest
import torch
from transformers import (
    AutoModel,
    AutoModelForImageTextToText,
    AutoModelForSequenceClassification,
    AutoProcessor,
)

from hf_graph4mm.hub import save_for_hub
from hf_graph4mm.hub.remote_code import export_code
from hf_graph4mm.processing import Graph4MMProcessor
from hf_graph4mm.testing import run_without_package, sentiment_inputs, tiny_graph4mm, tiny_gsit


def test_exported_code_is_self_contained(tmp_path, exported_imports):
    model = tiny_gsit()
    save_for_hub(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_gsit.GsiTConfig",
        "AutoModel": "modeling_gsit.GsiTModel",
        "AutoModelForSequenceClassification": "modeling_gsit.GsiTForSequenceClassification",
    }
    assert "hf_graph4mm" not in exported_imports(tmp_path)
    # every relative import names a file that was written
    for path in tmp_path.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                assert (tmp_path / f"{node.module}.py").is_file(), (path.name, node.module)
    # the lazily named Triton and flex backends are not exported (eager and sdpa are)
    written = {p.name for p in tmp_path.glob("*.py")}
    assert {"interlaced.py", "eager.py", "sdpa.py", "registry.py", "layout.py"} <= written, sorted(written)
    assert not {name for name in written if "triton" in name or "flex" in name}, sorted(written)


def test_export_rejects_classes_from_elsewhere(tmp_path):
    with pytest.raises(ValueError, match="not defined in hf_graph4mm"):
        export_code([torch.nn.Linear], tmp_path)


def test_with_the_package_the_auto_classes_use_the_local_code(tmp_path):
    model, processor = tiny_graph4mm()
    save_for_hub(model, tmp_path, processor)
    loaded = AutoModelForImageTextToText.from_pretrained(tmp_path)
    assert type(loaded) is type(model)
    assert type(AutoModel.from_pretrained(tmp_path)) is type(model)
    assert type(AutoProcessor.from_pretrained(tmp_path)) is Graph4MMProcessor


@pytest.mark.slow
def test_gsit_loads_without_the_package(tmp_path):
    model = tiny_gsit()
    save_for_hub(model, tmp_path / "ckpt")
    item = sentiment_inputs(1, seed=5)[0]
    inputs = {f"{m}_features": torch.as_tensor(v)[None] for m, v in item.items()}
    torch.save(inputs, tmp_path / "inputs.pt")
    with torch.no_grad():
        expected = model(**inputs).logits
    script = (
        "import torch\n"
        "from transformers import AutoModelForSequenceClassification\n"
        "model = AutoModelForSequenceClassification.from_pretrained('ckpt', trust_remote_code=True).eval()\n"
        "assert type(model).__module__.startswith('transformers_modules'), type(model).__module__\n"
        "with torch.no_grad():\n"
        "    logits = model(**torch.load('inputs.pt')).logits\n"
        "torch.save(logits, 'logits.pt')\n"
    )
    run_without_package(script, tmp_path, {"HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1"})
    torch.testing.assert_close(torch.load(tmp_path / "logits.pt"), expected, rtol=0, atol=1e-6)
    assert type(AutoModelForSequenceClassification.from_pretrained(tmp_path / "ckpt")) is type(model)


@pytest.mark.slow
def test_plain_save_pretrained_loads_without_the_package(tmp_path):
    """model.save_pretrained + processor.save_pretrained alone give a folder that needs no hf_graph4mm."""
    model, processor = tiny_graph4mm()
    model.save_pretrained(tmp_path / "ckpt")
    processor.save_pretrained(tmp_path / "ckpt")
    graph = {"nodes": [{"text": "a river"}, {"text": "its bridge"}], "edges": [[0, 1]]}
    batch = processor(graph, 0, prompts="Summarize:", target_texts="water")
    torch.save(dict(batch), tmp_path / "batch.pt")
    with torch.no_grad():
        expected = model(**batch).logits
    script = (
        "import torch\n"
        "from transformers import AutoModelForImageTextToText, AutoProcessor\n"
        "model = AutoModelForImageTextToText.from_pretrained('ckpt', trust_remote_code=True).eval()\n"
        "processor = AutoProcessor.from_pretrained('ckpt', trust_remote_code=True)\n"
        "assert type(processor).__name__ == 'Graph4MMProcessor', type(processor)\n"
        "graph = {'nodes': [{'text': 'a river'}, {'text': 'its bridge'}], 'edges': [[0, 1]]}\n"
        "batch = processor(graph, 0, prompts='Summarize:', target_texts='water')\n"
        "reference = torch.load('batch.pt')\n"
        "assert all(torch.equal(batch[k], reference[k]) for k in reference)\n"
        "with torch.no_grad():\n"
        "    torch.save(model(**batch).logits, 'logits.pt')\n"
        "model.save_pretrained('resaved')  # saving works without the package too (weights only)\n"
    )
    run_without_package(script, tmp_path, {"HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1"})
    torch.testing.assert_close(torch.load(tmp_path / "logits.pt"), expected, rtol=0, atol=1e-6)
    assert (tmp_path / "resaved" / "model.safetensors").is_file()
