"""The ``hf-graph4mm`` command: demo, train, evaluate, predict, benchmark-variants.

Each subcommand lives in its own module under ``hf_graph4mm.training`` and is imported
only when called. The console command starts in :mod:`hf_graph4mm_cli`, which answers ``--help``
(the top level's, ``train``'s, ``evaluate``'s, ``predict``'s) through :func:`light_help` without running
the package's ``__init__`` (torch, transformers): well under 2 s. Ctrl-C prints one line saying how to
resume.
"""

from __future__ import annotations

import argparse
import sys


def _demo(argv: list[str]) -> int:
    from .training.demo import main as demo_main

    return demo_main(argv)


def _train(argv: list[str]) -> int:
    from .training.train import main as train_main

    return train_main(argv)


def _evaluate(argv: list[str]) -> int:
    from .training.evaluate import main as evaluate_main

    return evaluate_main(argv)


def _benchmark_variants(argv: list[str]) -> int:
    from .training.variants import main as variants_main

    return variants_main(argv)


def _build_graph(argv: list[str]) -> int:
    from .cli_build_graph import main as build_graph_main

    return build_graph_main(argv)


def _predict(argv: list[str]) -> int:
    from .pipelines.predict import main as predict_main

    return predict_main(argv)


COMMANDS = {
    "demo": (
        _demo,
        "train and evaluate tiny Graph4MM and GsiT models on the bundled sample data (no downloads)",
    ),
    "train": (
        _train,
        "fine-tune a model from a YAML/JSON config (HfArgumentParser dataclasses + TrainingArguments)",
    ),
    "evaluate": (_evaluate, "generate with a checkpoint and compute metrics (JSON + table)"),
    "benchmark-variants": (
        _benchmark_variants,
        "train every structure variant alike on the synthetic hop tasks and print the ablation table",
    ),
    "predict": (_predict, "stream predictions of a checkpoint over a dataset to a JSONL file (resumable)"),
    "build-graph": (
        _build_graph,
        "a nodes table + an edges table (parquet, CSV, JSONL) -> a Graph4MM dataset",
    ),
}


HELP_FLAGS = ("-h", "--help")


def _top_level_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hf-graph4mm",
        description="Graph4MM and GsiT for the Hugging Face ecosystem.",
        epilog="Run `hf-graph4mm COMMAND --help` for a command's options.",
    )
    parser.add_argument(
        "command", choices=sorted(COMMANDS), help="; ".join(f"{k}: {v[1]}" for k, v in COMMANDS.items())
    )
    return parser


def light_help(argv: list[str]) -> int | None:
    """Print the help ``argv`` asks for without importing torch or transformers, and return the exit code;
    None when ``argv`` asks for something else (or a help only the command's own module can print)."""
    if not argv or argv[0] in HELP_FLAGS:
        _top_level_parser().print_help()
        return 0 if argv else 2
    if argv[0] not in COMMANDS or not any(flag in argv[1:] for flag in HELP_FLAGS) or "--help-all" in argv:
        return None
    from .training import command_line

    if argv[0] == "train":
        print(command_line.train_help())
        return 0
    from . import cli_build_graph

    parsers = {
        "evaluate": command_line.evaluate_parser,
        "predict": command_line.predict_parser,
        "build-graph": cli_build_graph.parser,
    }
    if argv[0] not in parsers:
        return None
    parsers[argv[0]]().print_help()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    code = light_help(argv)
    if code is not None:
        return code
    if argv[:2] == ["train", "--help-all"]:
        argv = ["train", "--help"]  # the full HfArgumentParser help, TrainingArguments included
    args = _top_level_parser().parse_args(argv[:1])
    handler, _ = COMMANDS[args.command]
    if args.command == "build-graph":  # its parser spells flags with dashes: accept underscores too
        from . import cli_build_graph
        from .training.command_line import spelled_as

        argv = [argv[0], *spelled_as(cli_build_graph.parser(), argv[1:])]
    try:
        return int(handler(argv[1:]) or 0)
    except KeyboardInterrupt:
        from .training.command_line import interrupted_message

        print(f"\n{interrupted_message(args.command, argv[1:])}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
