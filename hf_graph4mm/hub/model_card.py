"""The model card (README.md) of a saved Graph4MM or GsiT checkpoint.

The YAML block uses ``huggingface_hub``'s ``ModelCardData`` (library_name, pipeline_tag,
base_model, datasets, metrics, tags); the body says what the model is, gives usage snippets with the package
(``pipeline()``) and without it (each task's ``pipeline(..., trust_remote_code=True)``, then the
model alone), written for the model's own input sizes so that they run as they are, and lists
the attention backends.
"""

from __future__ import annotations

import os
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

# The Hub's own pipeline tags (our task names are not among them) and the matching pipeline() task.
HUB_PIPELINE_TAG = {"graph4mm": "graph-ml", "gsit": "text-classification"}
PIPELINE_TASK = {"graph4mm": "graph-text-generation", "gsit": "multimodal-sentiment-analysis"}
DESCRIPTION = {
    "graph4mm": (
        "Graph4MM (ICML 2025): the target node's multimodal neighbourhood goes through Hop-Diffused "
        "Attention and an MM-QFormer whose query outputs are written into the prompt of a frozen causal LM."
    ),
    "gsit": (
        "GsiT: multimodal sentiment analysis with one shared-weight attention under an Interlaced Mask "
        "over the concatenated [text; vision; audio] sequence (in place of MulT's nine transformers)."
    ),
}


WITHOUT_PACKAGE = (
    "Without the package: this repository carries the code of the model and of its pipelines "
    "(review it first), so `transformers` alone runs them with `trust_remote_code=True`:"
)
# Every name in kernels.ATTENTION_IMPLEMENTATIONS, and what it needs (a test checks they match).
ATTENTION_BACKENDS = {
    "eager": "the PyTorch reference; runs everywhere, also from this repository's code alone",
    "sdpa": "`torch.nn.functional.scaled_dot_product_attention`; runs everywhere, also from this repository's code alone",
    "triton": "fused Triton kernels; needs a CUDA GPU and `pip install hf-graph4mm triton`",
    "flex_attention": "`torch.nn.attention.flex_attention`; needs torch >= 2.5 and `pip install hf-graph4mm`",
}


def attention_section() -> str:
    """The card's list of attention backends (``attn_implementation=...`` at load time)."""
    rows = "\n".join(f'| `"{name}"` | {text} |' for name, text in ATTENTION_BACKENDS.items())
    return (
        "## Attention backends\n\n"
        "Choose one with `from_pretrained(..., attn_implementation=name)` (or "
        '`pipeline(..., model_kwargs={"attn_implementation": name})`):\n\n'
        f"| name | what runs, what it needs |\n|---|---|\n{rows}\n"
    )


def base_models_of(config) -> list[str]:
    """Hub ids of the pretrained backbones recorded in the config (``_name_or_path`` of sub-configs)."""
    names = []
    for attribute in ("vision_config", "text_config", "text_encoder_config"):
        sub_config = getattr(config, attribute, None)
        name = getattr(sub_config, "_name_or_path", "") if sub_config is not None else ""
        if name and not os.path.isdir(name):
            names.append(name)
    name = getattr(config, "text_encoder_name_or_path", None)
    if name and not os.path.isdir(name) and name not in names:
        names.append(name)
    return names


def _gsit_usage(repo_id: str, config) -> str:
    dims = f"text_dim={config.text_dim}, audio_dim={config.audio_dim}, vision_dim={config.vision_dim}"
    if getattr(config, "text_encoder_config", None) is not None:
        text_value, text_remote = '"What a wonderful film."', None
    else:
        text_value = f"rng.standard_normal((20, {config.text_dim}))"
        text_remote = f"torch.randn(1, 20, {config.text_dim})"
    utterance = f"""{{
    "text": {text_value},
    "audio": rng.standard_normal((30, {config.audio_dim})),
    "vision": rng.standard_normal((25, {config.vision_dim})),
}}"""
    with_package = f"""```python
import numpy as np
import hf_graph4mm  # registers the pipeline task
from transformers import pipeline

rng = np.random.default_rng(0)
analyzer = pipeline("multimodal-sentiment-analysis", model="{repo_id}")
print(analyzer({utterance}))
```"""
    without_package = f"""```python
import numpy as np
from transformers import pipeline

rng = np.random.default_rng(0)
analyzer = pipeline("multimodal-sentiment-analysis", model="{repo_id}", trust_remote_code=True)
print(analyzer({utterance}))
```"""
    parts = [f"Inputs: {dims}.", with_package, WITHOUT_PACKAGE, without_package]
    if text_remote is not None:
        parts += [
            "The model alone:",
            f"""```python
import torch
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("{repo_id}", trust_remote_code=True)
logits = model(
    text_features={text_remote},
    audio_features=torch.randn(1, 30, {config.audio_dim}),
    vision_features=torch.randn(1, 25, {config.vision_dim}),
).logits
print(logits)  # the sentiment score
```""",
        ]
    return "\n\n".join(parts)


def _graph4mm_usage(repo_id: str, config) -> str:
    with_package = f"""```python
import hf_graph4mm  # registers the pipeline tasks
from hf_graph4mm import MultimodalGraph
from PIL import Image
from transformers import pipeline

graph = MultimodalGraph(
    texts=["A page about cats.", "Cats sleep sixteen hours a day.", None],
    images=[None, None, Image.new("RGB", (64, 64), "orange")],
    edges=[(0, 1), (1, 2)],
)
generator = pipeline("graph-text-generation", model="{repo_id}")
print(generator({{"graph": graph, "target": 0}}, max_new_tokens=20))
```"""
    generation = f"""```python
from PIL import Image
from transformers import pipeline

generator = pipeline("graph-text-generation", model="{repo_id}", trust_remote_code=True)
page = {{
    "texts": ["A page about cats.", "Cats sleep sixteen hours a day.", None],
    "images": [None, None, Image.new("RGB", (64, 64), "orange")],  # file paths work too
    "edges": [[0, 1], [1, 2]],
}}
print(generator({{**page, "target": 0, "prompt": "Describe the page:"}}, max_new_tokens=20))
```"""
    classification = f"""```python
from transformers import pipeline

classifier = pipeline("zero-shot-node-classification", model="{repo_id}", trust_remote_code=True)
shop = {{"texts": ["Running shoes, size 42.", "Sports gear"], "edges": [[0, 1]], "target": 0}}
print(classifier(shop, candidate_labels=["shoes", "hats", "laptops"]))
```"""
    model_alone = f"""```python
from transformers import AutoModelForImageTextToText, AutoProcessor

processor = AutoProcessor.from_pretrained("{repo_id}", trust_remote_code=True)
model = AutoModelForImageTextToText.from_pretrained("{repo_id}", trust_remote_code=True)
graph = {{"nodes": [{{"text": "A page about cats."}}, {{"text": "Cats sleep sixteen hours a day."}}],
         "edges": [[0, 1]]}}
batch = processor(graphs=graph, targets=0, padding_side="left")
answer = model.generate(**batch, max_new_tokens=20)[:, batch["input_ids"].shape[1]:]  # prompt, then new tokens
print(processor.batch_decode(answer, skip_special_tokens=True))
```"""
    return "\n\n".join(
        [
            with_package,
            WITHOUT_PACKAGE,
            generation,
            classification,
            "The model and processor alone:",
            model_alone,
        ]
    )


def build_model_card(
    model,
    repo_id: str,
    datasets: list[str] | None = None,
    metrics: dict[str, float] | None = None,
    license: str | None = "apache-2.0",
    base_models: list[str] | None = None,
) -> ModelCard:
    """The card of ``model`` published as ``repo_id``.

    Args:
        datasets: Hub ids of the training data.
        metrics: measured results ``{name: value}``; names go in the YAML, values in a table.
        base_models: Hub ids of the backbones (default: read from the config).
    """
    config = model.config
    model_type = config.model_type
    if model_type not in PIPELINE_TASK:
        raise ValueError(
            f"no model card template for model_type {model_type!r}; known: {sorted(PIPELINE_TASK)}"
        )
    data = ModelCardData(
        library_name="transformers",
        pipeline_tag=HUB_PIPELINE_TAG[model_type],
        base_model=base_models if base_models is not None else (base_models_of(config) or None),
        datasets=datasets or None,
        metrics=sorted(metrics) if metrics else None,
        license=license,
        tags=["hf-graph4mm", model_type, "multimodal", "custom_code"],
    )
    usage = _graph4mm_usage(repo_id, config) if model_type == "graph4mm" else _gsit_usage(repo_id, config)
    results = ""
    if metrics:
        rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in sorted(metrics.items()))
        results = f"\n## Results\n\n| metric | value |\n|---|---|\n{rows}\n"
    trained_on = f"Trained on: {', '.join(datasets)}.\n" if datasets else ""
    body = f"""# {repo_id.split("/")[-1]}

{DESCRIPTION[model_type]}

`{type(model).__name__}` from [hf-graph4mm](https://pypi.org/project/hf-graph4mm/), for the
`{PIPELINE_TASK[model_type]}` pipeline task. {trained_on}
## Usage

{usage}

{attention_section()}{results}"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def write_model_card(model, save_directory: str | os.PathLike, repo_id: str | None = None, **kwargs) -> Path:
    """Write ``README.md`` into ``save_directory`` (``repo_id`` defaults to the folder's name)."""
    directory = Path(save_directory)
    card = build_model_card(model, repo_id or directory.name, **kwargs)
    path = directory / "README.md"
    card.save(path)
    return path


__all__ = ["build_model_card", "write_model_card"]
