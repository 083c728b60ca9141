"""Checkpoints carry the pipeline tasks' code: transformers alone runs all three tasks (trust_remote_code).

The bare checks run in ``python -I`` with hf_graph4mm blocked, from saved folders and from a seeded
offline Hub cache (the card snippets as written), and are compared with the package's pipelines:
generated text and labels exactly, scores with a tolerance.
"""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest
from PIL import Image
from transformers import pipeline

from hf_graph4mm.hub import push_to_hub
from hf_graph4mm.pipelines import (
    GraphTextGenerationPipeline,
    MultimodalSentimentAnalysisPipeline,
    ZeroShotNodeClassificationPipeline,
)
from hf_graph4mm.testing import run_without_package, sentiment_inputs, tiny_graph4mm, tiny_gsit

GRAPH_TASKS = {
    "graph-text-generation": "graph_text_generation.GraphTextGenerationPipeline",
    "zero-shot-node-classification": "zero_shot_node_classification.ZeroShotNodeClassificationPipeline",
}
SENTIMENT_TASKS = {
    "multimodal-sentiment-analysis": "multimodal_sentiment_analysis.MultimodalSentimentAnalysisPipeline"
}
LABELS = ["cat", "dog house", "a mat"]


def shipped_pipelines(config_file) -> dict:
    """The ``custom_pipelines`` the exported config file gives its class (read, not imported)."""
    for node in ast.walk(ast.parse(config_file.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_ShippedPipelines":
            return ast.literal_eval(node.args[0])
    raise AssertionError(f"{config_file.name} gives its config class no custom_pipelines")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Plain save_pretrained folders of both models, an image file, and the inputs used below."""
    root = tmp_path_factory.mktemp("bare")
    model, processor = tiny_graph4mm()
    model.save_pretrained(root / "ckpt" / "graph4mm")
    processor.save_pretrained(root / "ckpt" / "graph4mm")
    tiny_gsit().save_pretrained(root / "ckpt" / "gsit")
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((40, 40, 3)) * 255).astype("uint8")).save(root / "photo.png")
    page = {
        "texts": ["a cat page", None, "cats sleep", "the end"],
        "images": [None, "photo.png", "photo.png", None],
        "edges": [[0, 1], [1, 2], [2, 3]],
    }
    utterances = [{m: v.tolist() for m, v in item.items()} for item in sentiment_inputs(4, seed=7)]
    (root / "inputs.json").write_text(json.dumps({"page": page, "utterances": utterances}))
    return root


def test_saved_folders_carry_the_pipeline_code(saved, exported_imports):
    for name, tasks, config_file in (
        ("graph4mm", GRAPH_TASKS, "configuration_graph4mm.py"),
        ("gsit", SENTIMENT_TASKS, "configuration_gsit.py"),
    ):
        folder = saved / "ckpt" / name
        for reference in tasks.values():
            assert (folder / f"{reference.split('.')[0]}.py").is_file(), reference
        assert "hf_graph4mm" not in exported_imports(folder)
        assert "custom_pipelines" not in json.loads((folder / "config.json").read_text())
        auto_class = (
            "AutoModelForImageTextToText" if name == "graph4mm" else "AutoModelForSequenceClassification"
        )
        assert shipped_pipelines(folder / config_file) == {
            task: {"impl": reference, "pt": [auto_class], "type": "multimodal"}
            for task, reference in tasks.items()
        }
    assert (saved / "ckpt" / "graph4mm" / "graph_inputs.py").is_file()


def test_with_the_package_the_registered_tasks_run_without_trust_remote_code(saved):
    """The shipped custom_pipelines must not make pipeline() demand trust_remote_code from package users."""
    for task, expected in (
        ("graph-text-generation", GraphTextGenerationPipeline),
        ("zero-shot-node-classification", ZeroShotNodeClassificationPipeline),
    ):
        assert type(pipeline(task, model=str(saved / "ckpt" / "graph4mm"))) is expected
    analyzer = pipeline("multimodal-sentiment-analysis", model=str(saved / "ckpt" / "gsit"))
    assert type(analyzer) is MultimodalSentimentAnalysisPipeline


def test_pipeline_save_pretrained_ships_the_code_too(saved, tmp_path):
    """Pipeline.save_pretrained goes through the model's and processor's save (not transformers' file copy)."""
    model, processor = tiny_graph4mm()
    pipeline("zero-shot-node-classification", model=model, processor=processor).save_pretrained(tmp_path)
    assert "custom_pipelines" not in json.loads((tmp_path / "config.json").read_text())
    assert set(shipped_pipelines(tmp_path / "configuration_graph4mm.py")) == set(GRAPH_TASKS)
    assert (tmp_path / "processor_config.json").is_file()
    reloaded = pipeline("zero-shot-node-classification", model=str(tmp_path))
    page = json.loads((saved / "inputs.json").read_text())["page"]
    page = {**page, "images": [None, str(saved / "photo.png"), None, None], "target": 2}
    original = pipeline("zero-shot-node-classification", model=model, processor=processor)
    got, want = reloaded(page, candidate_labels=LABELS), original(page, candidate_labels=LABELS)
    assert got["labels"] == want["labels"] and got["scores"] == pytest.approx(want["scores"], abs=1e-6)


BARE_SCRIPT = """
import contextlib, io, json
from transformers import pipeline

inputs = json.load(open("inputs.json"))
page, utterances = inputs["page"], inputs["utterances"]
results = {}
for attempt in ("first", "second"):  # the second pipeline() reads custom_pipelines again
    generator = pipeline("graph-text-generation", model="ckpt/graph4mm", trust_remote_code=True)
    assert type(generator).__module__.startswith("transformers_modules"), type(generator).__module__
    results["generation_" + attempt] = generator(
        {**page, "target": 0, "prompt": "Say:"}, max_new_tokens=4, return_tensors=True
    )
classifier = pipeline("zero-shot-node-classification", model="ckpt/graph4mm", trust_remote_code=True)
results["zero_shot"] = classifier({**page, "target": 2}, candidate_labels=LABELS)
analyzer = pipeline("multimodal-sentiment-analysis", model="ckpt/gsit", trust_remote_code=True)
results["sentiment"] = analyzer(utterances, neutral_threshold=0.0)  # labels by the score's sign
for name, bad in (("url", {**page, "images": [None, "https://example.org/a.png", None, None]}),
                  ("edge", {**page, "edges": [[0, 9]]})):
    try:
        generator({**bad, "target": 0}, max_new_tokens=1)
        results["error_" + name] = None
    except ValueError as error:
        results["error_" + name] = str(error)
results["snippets"] = []
for path in SNIPPETS:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(open(path).read(), path, "exec"), {})
    results["snippets"].append(printed.getvalue())
json.dump(results, open("results.json", "w"))
"""


@pytest.mark.slow
def test_all_three_tasks_run_without_the_package(
    saved, monkeypatch, make_fake_hub, seed_hub_cache, card_parts, run_snippet, assert_same_predictions
):
    """From saved folders and from the Hub cache (the card snippets), matching the package's pipelines."""
    hub = make_fake_hub(monkeypatch)
    model, processor = tiny_graph4mm()
    push_to_hub(model, "org/tiny-graph4mm", processor)
    push_to_hub(tiny_gsit(), "org/tiny-gsit")
    hf_home = saved / "hf_home"
    snippets = []
    for repo_id, files in ((repo, files) for repo, _, files in hub.commits):
        seed_hub_cache(hf_home, repo_id, files)
        bare = [s for s in card_parts(files["README.md"])[1] if "pipeline(" in s and "trust_remote_code" in s]
        assert len(bare) == (2 if "graph4mm" in repo_id else 1)  # one per task
        snippets += bare
    for index, snippet in enumerate(snippets):
        (saved / f"snippet_{index}.py").write_text(snippet)
    names = [f"snippet_{index}.py" for index in range(len(snippets))]
    script = f"LABELS = {LABELS!r}\nSNIPPETS = {names!r}\n" + BARE_SCRIPT
    run_without_package(script, saved, {"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"})
    results = json.loads((saved / "results.json").read_text())

    # the package's pipelines on the same folders and inputs are the reference
    monkeypatch.chdir(saved)  # the page names its image by a relative path
    inputs = json.loads((saved / "inputs.json").read_text())
    page = inputs["page"]
    generator = pipeline("graph-text-generation", model="ckpt/graph4mm")
    expected = generator({**page, "target": 0, "prompt": "Say:"}, max_new_tokens=4, return_tensors=True)
    assert results["generation_first"] == results["generation_second"] == expected  # the same tokens
    classifier = pipeline("zero-shot-node-classification", model="ckpt/graph4mm")
    want = classifier({**page, "target": 2}, candidate_labels=LABELS)
    got = results["zero_shot"]
    assert got["labels"] == want["labels"] and got["target"] == 2
    assert got["scores"] == pytest.approx(want["scores"], rel=1e-5, abs=1e-6)
    analyzer = pipeline("multimodal-sentiment-analysis", model="ckpt/gsit")
    reference = analyzer(inputs["utterances"], neutral_threshold=0.0)
    assert {item["label"] for item in reference} == {"positive", "negative"}  # both signs are compared
    assert_same_predictions(repr(results["sentiment"]), repr(reference))
    assert "images[1] is a URL" in results["error_url"]
    assert "edges[0] = [0, 9]: there is no node 9" in results["error_edge"]

    # each card snippet printed what it prints with the package installed
    for snippet, printed in zip(snippets, results["snippets"], strict=True):
        with_package = "import hf_graph4mm\n" + snippet.replace(", trust_remote_code=True", "")
        reference = run_snippet(with_package, hf_home, monkeypatch)
        if "zero-shot" in snippet:
            got, want = ast.literal_eval(printed.strip()), ast.literal_eval(reference.strip())
            assert got["labels"] == want["labels"]
            assert got["scores"] == pytest.approx(want["scores"], rel=1e-5, abs=1e-6)
        elif "sentiment" in snippet:
            assert_same_predictions(printed, reference)
        else:
            assert printed == reference and "generated_text" in printed
