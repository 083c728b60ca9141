"""What the subcommands share before any model exists: their parsers, ``train --help``, flag spelling,
``--resume_from_checkpoint true|last``, early refusals (bf16 without a GPU) and the Ctrl-C line.

Only the standard library is imported at module level (and :mod:`.arguments`, which imports nothing
heavy), so the launcher prints every ``--help`` without importing torch or transformers.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
from pathlib import Path

from .arguments import DataArguments, ModelArguments

# evaluate, predict and the demo generate this many new tokens unless told otherwise (the demo's
# metrics.json used 32: `hf-graph4mm evaluate --model demo_output/graph4mm` reproduces its numbers)
EVAL_MAX_NEW_TOKENS = 32
RESUME_LAST = ("true", "last", "yes", "1")
RESUME_NONE = ("false", "no", "0", "none", "")

# TrainingArguments users reach for most, summarised (the full list: `hf-graph4mm train --help-all`)
TRAINING_ARGUMENTS_SUMMARY = (
    (
        "--output_dir DIR",
        "where checkpoints, the final model and test_metrics.json go (default: outputs/run)",
    ),
    ("--num_train_epochs N / --max_steps N", "how long to train"),
    ("--per_device_train_batch_size N", "batch size per device (and --per_device_eval_batch_size)"),
    ("--gradient_accumulation_steps N", "batches per optimizer step"),
    ("--learning_rate LR / --weight_decay W", "optimizer settings (AdamW unless --published_optimizer)"),
    ("--eval_strategy no|steps|epoch", "evaluate on the validation split while training"),
    ("--save_strategy no|steps|epoch", "write output_dir/checkpoint-N folders (with --save_steps N)"),
    (
        "--resume_from_checkpoint PATH|last",
        "continue from a checkpoint; 'last' (or 'true'): the newest in output_dir",
    ),
    ("--bf16 true / --fp16 true", "mixed precision (needs a CUDA GPU)"),
    ("--use_cpu true", "train on the CPU even when a GPU is present"),
    ("--seed N", "seed of the model's init and the data order"),
    ("--report_to none|tensorboard|wandb", "where logs go"),
    ("--logging_steps N", "how often the loss is logged"),
)


def normalise_flags(argv: list[str], known: set[str] | None = None) -> list[str]:
    """``--max-new-tokens`` and ``--max_new_tokens`` mean the same flag: dashes inside a flag's name become
    underscores (values are left alone; ``known`` limits the rewrite to those names when given)."""
    out = []
    for item in argv:
        if item.startswith("--") and len(item) > 2:
            name, sep, value = item[2:].partition("=")
            spelled = name.replace("-", "_")
            if known is None or spelled in known:
                item = f"--{spelled}{sep}{value}"
        out.append(item)
    return out


def _flag_value(argv: list[str], flag: str) -> str | None:
    """The last value given to ``--flag`` (``--flag v`` or ``--flag=v``), or None."""
    value = None
    for index, item in enumerate(argv):
        if item == flag and index + 1 < len(argv):
            value = argv[index + 1]
        elif item.startswith(flag + "="):
            value = item.split("=", 1)[1]
    return value


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1", "yes")


def refuse_mixed_precision_without_gpu(argv: list[str], source: str = "the command line") -> None:
    """``--bf16 true`` / ``--fp16 true`` need a CUDA GPU (unless ``--use_cpu true``): say so before
    TrainingArguments does ("Your setup doesn't support bf16/gpu") or a backbone downloads.

    Args:
        argv: the flags, config file already expanded.
        source: the config file (for the message).
    """
    wanted = [name for name in ("bf16", "fp16") if _truthy(_flag_value(argv, f"--{name}"))]
    if not wanted or _truthy(_flag_value(argv, "--use_cpu")):
        return
    import torch

    if torch.cuda.is_available() and ("bf16" not in wanted or torch.cuda.is_bf16_supported()):
        return
    name = wanted[0]
    need = (
        "a CUDA GPU with bf16 (Ampere, compute capability 8.0, or newer)" if name == "bf16" else "a CUDA GPU"
    )
    found = "no CUDA GPU is visible" if not torch.cuda.is_available() else "this GPU has no bf16 support"
    raise SystemExit(
        f"error: {source} sets {name}: true, which needs {need}; {found}. Run it on such a GPU, or override "
        f"with --{name} false (full precision; a 1B-parameter LM on CPU is very slow)"
    )


def resolve_resume(value, output_dir: str):
    """``--resume_from_checkpoint``: ``true`` / ``last`` -> the newest ``checkpoint-N`` in ``output_dir``,
    ``false`` / ``none`` -> None, anything else a checkpoint folder that must exist."""
    if value is None or isinstance(value, bool):
        value = "true" if value else None
        if value is None:
            return None
    text = str(value).strip()
    if text.lower() in RESUME_NONE:
        return None
    if text.lower() in RESUME_LAST:
        folder = Path(output_dir)
        checkpoints = [
            p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()
        ]
        if not checkpoints:
            raise SystemExit(
                f"error: --resume_from_checkpoint {text}: {output_dir} has no checkpoint-N folder to resume from "
                "(train with --save_strategy steps or epoch to write them)"
            )
        return str(max(checkpoints, key=lambda p: int(p.name.split("-")[-1])))
    if not Path(text).is_dir():
        raise SystemExit(f"error: --resume_from_checkpoint {text}: there is no such checkpoint folder")
    return text


def interrupted_message(command: str, argv: list[str]) -> str:
    """The one line printed on Ctrl-C: how to pick the run up again."""
    again = shlex.join(["hf-graph4mm", command, *argv])
    if command == "train":
        output_dir = _flag_value(argv, "--output_dir") or "outputs/run"
        if "--resume_from_checkpoint" not in " ".join(argv):
            again += " --resume_from_checkpoint last"
        return f"interrupted. Resume from the newest checkpoint in {output_dir} (written every --save_steps) with: {again}"
    if command == "predict":
        return f"interrupted. Rows already written are kept; run the same command to continue: {again}"
    return f"interrupted. Run it again with: {again}"


# ------------------------------------------------------------------------------------------------ parsers
def _field_help(field: dataclasses.Field) -> str:
    text = field.metadata.get("help", "")
    default = field.default
    if default is not dataclasses.MISSING and default is not None:
        text = f"{text} (default: {default})" if text else f"default: {default}"
    return text


def _field_type(field: dataclasses.Field) -> str:
    kind = str(field.type).replace(" | None", "")
    return {"bool": "true|false", "int": "N", "float": "X"}.get(kind, "TEXT")


# ModelArguments fields by topic (anything not listed lands in its class's "other" group)
MODEL_GROUPS = {
    "model: what to build or load": ("model_family", "model_name_or_path", "attn_implementation"),
    "Graph4MM": (
        "vision_model", "language_model", "structure", "fusion", "text_structure", "image_structure",
        "diffusion_steps", "num_query_tokens_per_image", "max_image_nodes", "max_text_nodes", "max_hops",
        "freeze_language_model", "lora_r", "lora_alpha", "prefix_tokens",
    ),
    "GsiT / MulT": (
        "gsit_fusion", "preset", "published_optimizer", "early_stopping_patience", "hidden_size", "num_layers",
        "num_attention_heads", "tie_layers", "regression_loss",
    ),
}  # fmt: skip


def _wrapped(flag: str, text: str, column: int = 40, width: int = 110) -> str:
    """``flag`` then its help from ``column`` on, wrapped at ``width`` (a long flag puts the help below it)."""
    import textwrap

    if not text:
        return flag
    first = f"{flag:<{column}}" if len(flag) < column else flag + "\n" + " " * column
    return textwrap.fill(text, width=width, initial_indent=first, subsequent_indent=" " * column)


def train_help() -> str:
    """``hf-graph4mm train --help``: our flags grouped, then TrainingArguments summarised with a pointer."""
    lines = [
        "usage: hf-graph4mm train [--config FILE.yaml] [--FLAG VALUE ...]",
        "",
        "Fine-tune Graph4MM or GsiT with transformers' Trainer, then evaluate on the test split.",
        "Flags after --config override the file's keys; --flag-name and --flag_name are the same flag.",
        "",
        "config:",
        "  --config FILE             a YAML or JSON mapping of any flags below (configs/*.yaml)",
    ]
    fields = {f.name: f for f in dataclasses.fields(ModelArguments)}
    grouped = {name for names in MODEL_GROUPS.values() for name in names}
    groups = [(title, [fields[n] for n in names if n in fields]) for title, names in MODEL_GROUPS.items()]
    groups.append(("model: other", [f for n, f in fields.items() if n not in grouped]))
    groups.append(("data", list(dataclasses.fields(DataArguments))))
    for title, members in groups:
        if not members:
            continue
        lines += ["", f"{title}:"]
        for field in members:
            flag = f"  --{field.name} {_field_type(field)}"
            lines.append(_wrapped(flag, _field_help(field)))
    lines += ["", "training (transformers.TrainingArguments; every one of its flags is accepted), most used:"]
    lines += [_wrapped(f"  {flag}", text) for flag, text in TRAINING_ARGUMENTS_SUMMARY]
    lines += [
        "",
        "All TrainingArguments flags: `hf-graph4mm train --help-all`, or",
        "https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments",
    ]
    return "\n".join(lines)


def evaluate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hf-graph4mm evaluate",
        description="Generate with a checkpoint (never teacher-forced) and compute the metrics: BLEU-4 / ROUGE-L / "
        "CIDEr-D for summaries, accuracy for node classification, the MSA set for GsiT.",
    )
    parser.add_argument(
        "--model", required=True, help="checkpoint folder saved by hf-graph4mm train (or a Hub id)"
    )
    parser.add_argument(
        "--dataset",
        default="sample",
        help="sample, wikiweb2m, ele_fashion, ele-fashion-sample, mmsa, a file (.parquet .arrow .jsonl .csv .pkl), "
        "a folder our scripts or save_to_disk wrote, your own features (docs/OWN_DATA_SENTIMENT.md), or a Hub id",
    )
    parser.add_argument("--raw_dir", default=None, help="raw release folder / MMSA pickle (named datasets)")
    parser.add_argument("--images_dir", default=None, help="downloaded WikiWeb2M images")
    parser.add_argument(
        "--split", default="test", help="split to score (a one-split source uses its only one)"
    )
    parser.add_argument("--max_eval_samples", type=int, default=None)
    parser.add_argument(
        "--max_new_tokens",
        type=int,
        default=EVAL_MAX_NEW_TOKENS,
        help=f"generation length (default: {EVAL_MAX_NEW_TOKENS}, as the demo)",
    )
    parser.add_argument("--num_beams", type=int, default=1)
    parser.add_argument("--prompt", default=DataArguments.prompt)
    parser.add_argument(
        "--task",
        dest="eval_task",
        choices=("auto", "generation", "classification"),
        default="auto",
        help="Graph4MM: generation metrics, or classification accuracy by ranking each label's verbaliser "
        "(auto: classification when rows carry label_name)",
    )
    parser.add_argument(
        "--labels",
        default=None,
        help="classification: comma-separated label names or a labels.json (default: the dataset's "
        "labels.json, else the names in its label_name column)",
    )
    parser.add_argument(
        "--msa_metrics",
        default="mosi",
        choices=("mosi", "mosei", "sims"),
        help="GsiT metric set (default: mosi)",
    )
    parser.add_argument("--output", default=None, help="metrics JSON (default: MODEL/eval_metrics.json)")
    return parser


def predict_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hf-graph4mm predict",
        description="Stream a checkpoint's predictions over a dataset into a JSONL file (resumable: ids already "
        "written are skipped).",
    )
    parser.add_argument("--model", required=True, help="checkpoint folder or Hub repo id")
    parser.add_argument(
        "--dataset",
        required=True,
        help="a file (.parquet .arrow .jsonl .json .csv .pkl), a folder our scripts or save_to_disk wrote (the "
        "Ele-Fashion shared-graph layout too), your own features, or a Hub id",
    )
    parser.add_argument(
        "--output", required=True, help="JSONL file to append predictions to (resumed if it exists)"
    )
    parser.add_argument(
        "--split", default="test", help="split to predict (a one-split source uses its only one)"
    )
    parser.add_argument("--task", default=None, help="pipeline task (default: from the model type)")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--id_column", default="id")
    parser.add_argument(
        "--max_new_tokens",
        type=int,
        default=EVAL_MAX_NEW_TOKENS,
        help=f"generation length (graph-text-generation; default {EVAL_MAX_NEW_TOKENS})",
    )
    parser.add_argument("--num_beams", type=int, default=1, help="beam search width (graph-text-generation)")
    parser.add_argument(
        "--candidate_labels", default=None, help="comma-separated labels: zero-shot node classification"
    )
    parser.add_argument("--raw_dir", default=None, help="raw release folder / MMSA pickle (named datasets)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: GPU 0 if any)")
    return parser


def spelled_as(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``argv`` with each long flag in the spelling ``parser`` defines (``--images_dir`` becomes
    ``--images-dir`` for a parser with dashes, ``--batch-size`` becomes ``--batch_size`` for one with
    underscores); values and unknown flags are left alone."""
    defined = {option for action in parser._actions for option in action.option_strings}
    by_key = {option[2:].replace("-", "_"): option for option in defined if option.startswith("--")}
    out = []
    for item in argv:
        if item.startswith("--") and len(item) > 2:
            name, sep, value = item.partition("=")
            if name not in defined and name[2:].replace("-", "_") in by_key:
                item = by_key[name[2:].replace("-", "_")] + sep + value
        out.append(item)
    return out


def parse_with(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse with either flag spelling (``--batch-size`` or ``--batch_size``)."""
    return parser.parse_args(spelled_as(parser, list(argv)))


def expand_config(argv: list[str]) -> tuple[list[str], str]:
    """``--config FILE`` replaced by the file's flags (later flags still override): (argv, what set them)."""
    from .arguments import config_file_to_argv

    argv = list(argv)
    if "--config" not in argv:
        return argv, "the command line"
    at = argv.index("--config")
    if at + 1 >= len(argv):
        raise ValueError("--config needs a file path")
    path = argv[at + 1]
    return config_file_to_argv(path) + argv[:at] + argv[at + 2 :], os.fspath(path)
