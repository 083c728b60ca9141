"""push_to_hub (Hub API mocked): the uploaded files, the model card, and its snippets run from an offline cache."""

from __future__ import annotations

import json

import pytest
import torch

from hf_graph4mm.hub import push_to_hub
from hf_graph4mm.kernels import ATTENTION_IMPLEMENTATIONS
from hf_graph4mm.testing import run_without_package, tiny_graph4mm, tiny_gsit

GRAPH4MM_REPO = "org/tiny-graph4mm"
GSIT_REPO = "org/tiny-gsit"


@pytest.fixture(scope="module")
def pushed_graph4mm(tmp_path_factory, make_fake_hub):
    monkeypatch = pytest.MonkeyPatch()
    hub = make_fake_hub(monkeypatch)
    model, processor = tiny_graph4mm()
    result = push_to_hub(
        model,
        GRAPH4MM_REPO,
        processor,
        datasets=["org/wikiweb2m-sample"],
        metrics={"bleu": 0.08, "rouge_l": 0.4076},
        base_models=["facebook/opt-125m", "openai/clip-vit-base-patch16"],
        private=True,
    )
    monkeypatch.undo()
    assert result == "commit-info"
    return hub


def test_push_uploads_weights_code_processor_and_card(pushed_graph4mm):
    assert pushed_graph4mm.repos == [(GRAPH4MM_REPO, {"private": True, "exist_ok": True})]
    ((repo_id, _, files),) = pushed_graph4mm.commits
    assert repo_id == GRAPH4MM_REPO
    assert {
        "README.md",
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "weights_sha256.json",
        "processor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "configuration_graph4mm.py",
        "modeling_graph4mm.py",
        "processor.py",
        "kernels.py",
    } <= set(files)
    assert not [name for name in files if name.endswith((".bin", ".pt", ".pth"))]
    checksums = json.loads(files["weights_sha256.json"])
    import hashlib

    assert checksums == {"model.safetensors": hashlib.sha256(files["model.safetensors"]).hexdigest()}


def test_card_metadata(pushed_graph4mm, card_parts):
    files = pushed_graph4mm.commits[0][2]
    metadata, snippets = card_parts(files["README.md"])
    assert metadata["library_name"] == "transformers"
    assert metadata["pipeline_tag"] == "graph-ml"
    assert metadata["base_model"] == ["facebook/opt-125m", "openai/clip-vit-base-patch16"]
    assert metadata["datasets"] == ["org/wikiweb2m-sample"]
    assert metadata["metrics"] == ["bleu", "rouge_l"]
    assert {"hf-graph4mm", "graph4mm", "custom_code"} <= set(metadata["tags"])
    assert "| rouge_l | 0.4076 |" in files["README.md"].decode()
    # with the package; without it: one pipeline per task, then the model and processor alone
    assert len(snippets) == 4 and all(GRAPH4MM_REPO in snippet for snippet in snippets)
    assert [snippet.count("trust_remote_code=True") for snippet in snippets] == [0, 1, 1, 2]


def test_card_snippet_with_the_package_runs_from_the_offline_cache(
    pushed_graph4mm, tmp_path, monkeypatch, seed_hub_cache, card_parts, run_snippet
):
    files = pushed_graph4mm.commits[0][2]
    seed_hub_cache(tmp_path, GRAPH4MM_REPO, files)
    snippet = card_parts(files["README.md"])[1][0]
    printed = run_snippet(snippet, tmp_path, monkeypatch)
    # the same snippet on the in-memory model is the reference
    model, processor = tiny_graph4mm()
    in_memory = snippet.replace(f'model="{GRAPH4MM_REPO}"', "model=MODEL, processor=PROCESSOR")
    assert in_memory != snippet
    assert printed == run_snippet(in_memory, tmp_path, monkeypatch, MODEL=model, PROCESSOR=processor)
    assert "generated_text" in printed


@pytest.mark.slow
def test_card_snippet_without_the_package_runs_from_the_offline_cache(
    pushed_graph4mm, tmp_path, seed_hub_cache, card_parts
):
    files = pushed_graph4mm.commits[0][2]
    hf_home = tmp_path / "hf_home"
    seed_hub_cache(hf_home, GRAPH4MM_REPO, files)
    snippet = card_parts(files["README.md"])[1][3]  # the model and processor alone
    graph = {
        "nodes": [{"text": "A page about cats."}, {"text": "Cats sleep sixteen hours a day."}],
        "edges": [[0, 1]],
    }
    check = (
        "\nassert type(model).__module__.startswith('transformers_modules')\n"
        "assert type(processor).__name__ == 'Graph4MMProcessor'\n"
        "full = processor(graphs=graph, targets=0, target_texts='cats')\n"
        "with torch.no_grad():\n"
        "    torch.save(model(**full).logits, 'logits.pt')\n"
    )
    result = run_without_package(
        "import torch\n" + snippet + check, tmp_path, {"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    )
    model, processor = tiny_graph4mm()
    batch = processor(graphs=graph, targets=0, padding_side="left")
    with torch.no_grad():
        expected_text = processor.batch_decode(
            model.generate(**batch, max_new_tokens=20)[:, batch["input_ids"].shape[1] :], skip_special_tokens=True
        )
        expected_logits = model(**processor(graphs=graph, targets=0, target_texts="cats")).logits
    assert result.stdout.strip() == str(expected_text)
    torch.testing.assert_close(torch.load(tmp_path / "logits.pt"), expected_logits, rtol=0, atol=1e-5)


def test_gsit_card_snippet_runs_from_the_offline_cache(
    tmp_path, monkeypatch, make_fake_hub, card_parts, seed_hub_cache, run_snippet, assert_same_predictions
):
    hub = make_fake_hub(monkeypatch)
    model = tiny_gsit()
    push_to_hub(model, GSIT_REPO, metrics={"mae": 0.713})
    files = hub.commits[0][2]
    metadata, snippets = card_parts(files["README.md"])
    assert metadata["pipeline_tag"] == "text-classification" and metadata["metrics"] == ["mae"]
    assert "base_model" not in metadata  # a model built from scratch has none
    seed_hub_cache(tmp_path, GSIT_REPO, files)
    printed = run_snippet(snippets[0], tmp_path, monkeypatch)  # seeds its own numpy generator
    in_memory = snippets[0].replace(f'model="{GSIT_REPO}"', "model=MODEL")
    reference = run_snippet(in_memory, tmp_path, monkeypatch, MODEL=model)
    # the cached and the in-memory model may take different CPU matmul paths: labels must agree
    # exactly, scores only to float32 rounding
    assert_same_predictions(printed, reference)


def test_model_push_to_hub_method_uploads_the_card_and_code(monkeypatch, make_fake_hub, card_parts):
    """`model.push_to_hub(...)`, the transformers way, goes through the same upload (card + code + weights)."""
    hub = make_fake_hub(monkeypatch)
    model = tiny_gsit()
    assert model.push_to_hub(GSIT_REPO, datasets=["org/mosi"]) == "commit-info"
    ((repo_id, _, files),) = hub.commits
    assert repo_id == GSIT_REPO
    assert {"README.md", "config.json", "model.safetensors", "modeling_gsit.py"} <= set(files)
    metadata, _ = card_parts(files["README.md"])
    assert metadata["library_name"] == "transformers" and metadata["datasets"] == ["org/mosi"]
    assert "multimodal_sentiment_analysis.py" in files  # the pipeline's code too


def test_card_lists_every_attention_backend(pushed_graph4mm):
    """The card names each backend the package has, and says what "triton" needs."""
    readme = pushed_graph4mm.commits[0][2]["README.md"].decode()
    section = readme.split("## Attention backends")[1]
    for name in ATTENTION_IMPLEMENTATIONS:
        assert f'`"{name}"`' in section, name
    (triton_row,) = [line for line in section.splitlines() if '`"triton"`' in line]
    assert "GPU" in triton_row
