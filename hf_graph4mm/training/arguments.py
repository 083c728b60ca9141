"""Command-line / YAML arguments of ``hf-graph4mm train`` and ``evaluate``, as dataclasses.

They are parsed with ``transformers.HfArgumentParser`` together with ``TrainingArguments``.
A YAML/JSON config file gives the defaults of a run; flags after it override single keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL_FAMILIES = ("graph4mm", "gsit")


@dataclass
class ModelArguments:
    """Which model to build (or load) and how."""

    model_family: str = field(default="graph4mm", metadata={"help": "graph4mm or gsit"})
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "a saved hf-graph4mm checkpoint to continue from (folder or Hub id)"}
    )
    vision_model: str = field(
        default="tiny", metadata={"help": "CLIP-like vision backbone: 'tiny' (built in) or a folder / Hub id"}
    )
    language_model: str = field(
        default="tiny",
        metadata={"help": "causal LM backbone: 'tiny' (OPT-style), 'tiny-llama', or a folder / Hub id"},
    )
    structure: str = field(
        default="hop_diffused", metadata={"help": "hop_diffused, hop_aware, hop_diffused_aware or none"}
    )
    fusion: str = field(default="qformer", metadata={"help": "qformer (Graph4MM) or concat (MMGL baseline)"})
    text_structure: bool = field(default=True, metadata={"help": "graph attention over the text subgraph"})
    image_structure: bool = field(default=True, metadata={"help": "graph attention over the visual subgraph"})
    diffusion_steps: int = field(default=2, metadata={"help": "K, the truncation of the hop diffusion"})
    num_query_tokens_per_image: int = field(default=4)
    max_image_nodes: int = field(default=5)
    max_text_nodes: int = field(default=12)
    max_hops: int = field(default=2)
    freeze_language_model: bool | None = field(
        default=None,
        metadata={
            "help": "keep the LM frozen (default: frozen for pretrained LMs as in the paper; trained for the "
            "randomly initialised tiny LM, which has nothing to keep)"
        },
    )
    lora_r: int = field(default=0, metadata={"help": "LoRA rank on the LM's attention (0 = no LoRA)"})
    lora_alpha: int = field(default=16)
    prefix_tokens: int = field(
        default=0,
        metadata={
            "help": "prefix tuning is Python-only (the README's PEFT section shows it); the CLI trains LoRA "
            "(--lora_r) and refuses a value above 0"
        },
    )
    attn_implementation: str | None = field(
        default=None, metadata={"help": "eager, sdpa or triton for the graph / fusion attention"}
    )
    # GsiT
    gsit_fusion: str = field(
        default="interlaced", metadata={"help": "interlaced (GsiT) or mult (MulT baseline)"}
    )
    preset: str | None = field(
        default=None,
        metadata={
            "help": "mosi, mosei or sims: the published setting of gsit_fusion on that dataset "
            "(GsiTConfig.from_preset); the fields below override it. Default: GsiTConfig()'s (GsiT on MOSI)"
        },
    )
    published_optimizer: bool = field(
        default=False,
        metadata={
            "help": "train as the published loop does: torch.optim.Adam with L2 weight decay (the text encoder "
            "at the preset's own learning rate, its biases and LayerNorms undecayed) and, for MulT, "
            "clip_grad_value_ at the preset's value"
        },
    )
    early_stopping_patience: int = field(
        default=0, metadata={"help": "stop after this many evaluations without a better metric (0: never)"}
    )
    hidden_size: int | None = field(default=None, metadata={"help": "default: the preset's (128)"})
    num_layers: int | None = field(default=None, metadata={"help": "default: the preset's (4)"})
    num_attention_heads: int | None = field(default=None, metadata={"help": "default: the preset's (4)"})
    tie_layers: bool | None = field(default=None, metadata={"help": "default: the preset's (True)"})
    regression_loss: str | None = field(default=None, metadata={"help": "l1 (published) or mse"})

    def __post_init__(self):
        if self.model_family not in MODEL_FAMILIES:
            raise ValueError(f"model_family must be one of {MODEL_FAMILIES}, got {self.model_family!r}")


@dataclass
class DataArguments:
    """Which data to train and evaluate on."""

    dataset: str = field(
        default="sample",
        metadata={
            "help": "sample (bundled), wikiweb2m, ele_fashion, ele-fashion-sample, mmsa (with --raw_dir), a file "
            "(.parquet .arrow .jsonl .csv .pkl), a folder our dataset scripts or save_to_disk wrote, your own "
            "features (docs/OWN_DATA_SENTIMENT.md), or a Hub dataset id"
        },
    )
    raw_dir: str | None = field(default=None, metadata={"help": "raw release folder (or MMSA pickle path)"})
    images_dir: str | None = field(default=None, metadata={"help": "downloaded images folder (WikiWeb2M)"})
    seen_classes: str | None = field(
        default=None,
        metadata={"help": "Ele-Fashion zero-shot: comma-separated seen class ids (train on these)"},
    )
    max_train_samples: int | None = field(default=None)
    max_eval_samples: int | None = field(default=None)
    prompt: str = field(default="Summarize the section:", metadata={"help": "instruction before the context"})
    num_hops: int = field(default=2)
    max_length: int = field(default=1024)
    max_target_length: int = field(default=128)
    max_node_tokens: int = field(default=64)
    include_neighbor_text: bool = field(default=True)
    max_new_tokens: int = field(
        default=32,
        metadata={"help": "generation length at evaluation (evaluate, predict and the demo use 32 too)"},
    )
    num_beams: int = field(default=1)
    msa_metrics: str = field(
        default="auto",
        metadata={"help": "mosi, mosei or sims metric set (auto: from the file name, else mosi)"},
    )
    cache_vision_features: bool = field(
        default=False, metadata={"help": "run the frozen vision encoder once per image and reuse its output"}
    )
    skip_empty_sequences: bool = field(
        default=False,
        metadata={
            "help": "GsiT: drop samples whose text, audio or vision has no real step (and say how many) instead "
            "of stopping at the first one"
        },
    )
    eval_task: str = field(
        default="auto",
        metadata={
            "help": "Graph4MM evaluation: generation (BLEU/ROUGE/CIDEr), classification (rank the labels' "
            "verbalisers, accuracy) or auto (classification when rows carry label_name)"
        },
    )
    labels: str | None = field(
        default=None,
        metadata={
            "help": "classification: comma-separated label names or a labels.json (default: the dataset's "
            "labels.json, else the names in its label_name column)"
        },
    )


def limit_samples(dataset, data_args: DataArguments):
    """Keep the first ``max_train_samples`` / ``max_eval_samples`` rows of a ``DatasetDict``'s splits."""
    limits = {"train": data_args.max_train_samples}
    limits.update(dict.fromkeys(("validation", "test"), data_args.max_eval_samples))
    for split, limit in limits.items():
        if limit and split in dataset:
            dataset[split] = dataset[split].select(range(min(limit, len(dataset[split]))))
    return dataset


def config_file_to_argv(path: str | Path) -> list[str]:
    """Flatten a YAML/JSON mapping into ``--key value`` flags (later flags override earlier ones)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        values = yaml.safe_load(text) or {}
    elif path.suffix == ".json":
        values = json.loads(text)
    else:
        raise ValueError(f"config file {str(path)!r}: use a .yaml, .yml or .json file")
    if not isinstance(values, dict):
        raise ValueError(f"config file {str(path)!r} must hold a mapping of argument names to values")
    argv: list[str] = []
    for key, value in values.items():
        argv.extend(_flag(key, value))
    return argv


def _flag(key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [f"--{key}", *[str(item) for item in value]]
    if isinstance(value, dict):
        return [f"--{key}", json.dumps(value)]
    return [f"--{key}", str(value)]


def parse_arguments(argv: list[str]):
    """``[--config FILE] [--flag value ...]`` -> (ModelArguments, DataArguments, TrainingArguments)."""
    from transformers import HfArgumentParser, TrainingArguments

    argv = list(argv)
    if "--config" in argv:
        at = argv.index("--config")
        if at + 1 >= len(argv):
            raise ValueError("--config needs a file path")
        argv = config_file_to_argv(argv[at + 1]) + argv[:at] + argv[at + 2 :]
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments))
    if "--output_dir" not in argv:
        argv += ["--output_dir", "outputs/run"]
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    return model_args, data_args, training_args
