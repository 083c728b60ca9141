"""CLI hygiene: help without torch, a readable train --help, either flag spelling, one line on Ctrl-C,
--resume_from_checkpoint true/last, early refusals (offline, missing folders, bf16 without a GPU), and every
layout our scripts write read by train, evaluate and predict (Ele-Fashion's shared graph included)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hf_graph4mm import cli
from hf_graph4mm.data.references import HubUnavailableError
from hf_graph4mm.testing import tiny_graph4mm
from hf_graph4mm.testing.samples import SAMPLE_DATA
from hf_graph4mm.training.arguments import DataArguments, ModelArguments, parse_arguments
from hf_graph4mm.training.command_line import (
    EVAL_MAX_NEW_TOKENS,
    evaluate_parser,
    normalise_flags,
    parse_with,
    predict_parser,
    resolve_resume,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
HELP_PROBE = """
import sys, hf_graph4mm_cli
code = hf_graph4mm_cli.main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "transformers", "datasets") if m in sys.modules)
print("HEAVY=" + ",".join(heavy) + f" CODE={code}")
"""


def run_probe(*argv: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", HELP_PROBE, *argv], env=env, capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["train", "--help"], ["evaluate", "-h"], ["predict", "--help"], ["build-graph", "-h"]],
)
def test_help_answers_without_importing_torch_or_transformers(argv):
    out = run_probe(*argv)
    assert out.rstrip().endswith("HEAVY= CODE=0"), out[-500:]
    assert "usage:" in out


def test_train_help_lists_our_flags_first_grouped_with_config_then_training_arguments():
    text = run_probe("train", "--help")
    lines = text.splitlines()
    assert len(lines) < 120  # transformers' full list is 700+ lines: behind --help-all
    headings = [line for line in lines if line and not line.startswith(" ") and line.endswith(":")]
    assert headings[:3] == ["config:", "model: what to build or load:", "Graph4MM:"]
    assert "--config FILE" in text and "--help-all" in text
    order = [text.index(f"\n{h}\n") for h in ("config:", "Graph4MM:", "GsiT / MulT:", "data:")]
    assert order == sorted(order) and text.index("training (transformers.TrainingArguments") > order[-1]
    for field in (*dataclasses.fields(ModelArguments), *dataclasses.fields(DataArguments)):
        assert f"--{field.name} " in text, field.name


def test_help_all_prints_every_training_argument(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--help-all"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "--per_device_train_batch_size" in out and "--dataloader_num_workers" in out


def test_either_flag_spelling_means_the_same_flag():
    assert normalise_flags(["--max-steps", "3", "--output_dir", "a-b", "--learning-rate=0.1"]) == [
        "--max_steps", "3", "--output_dir", "a-b", "--learning_rate=0.1",
    ]  # fmt: skip
    dashed = parse_with(
        predict_parser(), ["--model", "m", "--dataset", "d", "--output", "o", "--batch-size", "3"]
    )
    plain = parse_with(
        predict_parser(), ["--model", "m", "--dataset", "d", "--output", "o", "--batch_size", "3"]
    )
    assert dashed == plain and dashed.batch_size == 3
    _, data_args, training_args = parse_arguments(
        normalise_flags(["--max-new-tokens", "5", "--max-steps", "2"])
    )
    assert data_args.max_new_tokens == 5 and training_args.max_steps == 2


def test_evaluate_predict_and_train_generate_as_many_tokens_as_the_demo():
    demo = (REPO_ROOT / "hf_graph4mm" / "training" / "demo.py").read_text()
    assert f"max_new_tokens={EVAL_MAX_NEW_TOKENS}" in demo
    assert evaluate_parser().parse_args(["--model", "m"]).max_new_tokens == EVAL_MAX_NEW_TOKENS
    assert (
        predict_parser().parse_args(["--model", "m", "--dataset", "d", "--output", "o"]).max_new_tokens == 32
    )
    assert DataArguments().max_new_tokens == EVAL_MAX_NEW_TOKENS


def test_ctrl_c_prints_one_line_saying_how_to_resume(monkeypatch, capsys):
    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "train", (interrupted, "train"))
    monkeypatch.setitem(cli.COMMANDS, "predict", (interrupted, "predict"))
    assert cli.main(["train", "--config", "c.yaml", "--output_dir", "runs/a"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert (
        "runs/a" in err[0]
        and "hf-graph4mm train --config c.yaml --output_dir runs/a --resume_from_checkpoint last" in err[0]
    )
    assert cli.main(["predict", "--model", "m", "--dataset", "d", "--output", "p.jsonl"]) == 130
    assert "run the same command to continue" in capsys.readouterr().err


def test_resume_true_and_last_pick_the_newest_checkpoint(tmp_path):
    for step in (2, 10, 4):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "checkpoint-final").mkdir()  # not a step number: ignored
    for value in ("true", "True", "last", True):
        assert resolve_resume(value, str(tmp_path)) == str(tmp_path / "checkpoint-10")
    for value in (None, "false", "none", False):
        assert resolve_resume(value, str(tmp_path)) is None
    assert resolve_resume(str(tmp_path / "checkpoint-4"), str(tmp_path)) == str(tmp_path / "checkpoint-4")
    with pytest.raises(SystemExit, match="has no checkpoint-N folder"):
        resolve_resume("last", str(tmp_path / "empty"))
    with pytest.raises(SystemExit, match="no such checkpoint folder"):
        resolve_resume(str(tmp_path / "checkpoint-99"), str(tmp_path))


def test_train_resumes_from_the_last_checkpoint_through_the_cli(tmp_path):
    output = tmp_path / "run"
    common = [
        "train", "--model_family", "gsit", "--hidden_size", "16", "--num_attention_heads", "2", "--num_layers", "1",
        "--per_device_train_batch_size", "4", "--output_dir", str(output), "--report_to", "none", "--use_cpu", "true",
        "--save_strategy", "steps", "--save_steps", "2", "--max_train_samples", "8", "--max_eval_samples", "4",
    ]  # fmt: skip
    assert cli.main([*common, "--max_steps", "2"]) == 0
    first = json.loads((output / "checkpoint-2" / "trainer_state.json").read_text())
    assert cli.main([*common, "--max_steps", "4", "--resume_from_checkpoint", "true"]) == 0
    state = json.loads((output / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    # the resumed run kept the first run's log (it continued from checkpoint-2, not from scratch)
    assert state["log_history"][: len(first["log_history"])] == first["log_history"]


def test_offline_hub_ids_fail_at_once_with_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        HubUnavailableError, match=r"--model 'someone/missing-model'.*HF_HUB_OFFLINE=1.*hf download"
    ):
        cli.main(["evaluate", "--model", "someone/missing-model"])
    with pytest.raises(HubUnavailableError, match=r"--dataset 'someone/missing-data'.*HF_HUB_OFFLINE=1"):
        cli.main(
            ["train", "--model_family", "gsit", "--dataset", "someone/missing-data", "--output_dir", "o"]
        )
    with pytest.raises(HubUnavailableError, match=r"--language_model 'someone/missing-lm'"):
        cli.main(
            ["train", "--vision_model", "tiny", "--language_model", "someone/missing-lm", "--output_dir", "o"]
        )


def test_a_missing_model_folder_is_never_taken_for_a_hub_id(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    for command in (
        ["evaluate", "--model", "outputs/run"],
        ["predict", "--model", "./ckpt", "--dataset", "d", "--output", "o"],
    ):
        with pytest.raises(FileNotFoundError, match="no such file or folder"):
            cli.main(command)
    with pytest.raises(FileNotFoundError, match="--dataset 'data/mosi-hf/train.parquet'"):
        cli.main(
            [
                "train",
                "--model_family",
                "gsit",
                "--dataset",
                "data/mosi-hf/train.parquet",
                "--output_dir",
                "o",
            ]
        )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_bf16_config_without_a_gpu_says_what_to_do():
    with pytest.raises(
        SystemExit, match=r"wikiweb2m_llama1b.yaml sets bf16: true, which needs a CUDA GPU.*--bf16 false"
    ):
        cli.main(["train", "--config", str(REPO_ROOT / "configs" / "wikiweb2m_llama1b.yaml")])


@pytest.fixture(scope="module")
def ele_fashion_release(tmp_path_factory):
    """What dataset_scripts/ele_fashion.py writes from the bundled sample (data/*.parquet + graph/graph.parquet)."""
    folder = tmp_path_factory.mktemp("ele")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "dataset_scripts" / "ele_fashion.py"), "--raw-dir",
         str(SAMPLE_DATA / "ele_fashion"), "--output-dir", str(folder / "out"), "--cache-dir", str(folder / "cache")],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    return folder / "out"


def test_predict_reads_the_ele_fashion_shared_graph_layout(ele_fashion_release, tmp_path):
    import datasets

    model, processor = tiny_graph4mm()
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    output = tmp_path / "preds.jsonl"
    argv = [
        "predict",
        "--model",
        str(tmp_path / "model"),
        "--dataset",
        str(ele_fashion_release),
        "--output",
        str(output),
    ]
    assert cli.main([*argv, "--max_new_tokens", "2", "--device", "cpu"]) == 0
    test_rows = datasets.load_dataset(
        "parquet", data_files=str(ele_fashion_release / "data" / "test.parquet"), split="train"
    )
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["id"] for r in records] == test_rows["id"] and all("generated_text" in r for r in records)


def test_train_and_evaluate_read_the_ele_fashion_release_folder(ele_fashion_release, tmp_path, capsys):
    output = tmp_path / "run"
    argv = [
        "train", "--dataset", str(ele_fashion_release), "--max_steps", "1", "--per_device_train_batch_size", "2",
        "--max_train_samples", "2", "--max_eval_samples", "2", "--max_length", "160", "--max_node_tokens", "8",
        "--output_dir", str(output), "--report_to", "none", "--use_cpu", "true", "--save_strategy", "no",
        "--prompt", "Category:",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    assert "accuracy" in json.loads((output / "test_metrics.json").read_text())
    assert (
        cli.main(
            [
                "evaluate",
                "--model",
                str(output),
                "--dataset",
                str(ele_fashion_release),
                "--max_eval_samples",
                "2",
                "--prompt",
                "Category:",
            ]
        )
        == 0
    )
    assert "accuracy" in json.loads((output / "eval_metrics.json").read_text())


def test_the_console_command_starts_in_the_light_entry_point():
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["hf-graph4mm"] == "hf_graph4mm_cli:main"
    assert any(
        pattern == "hf_graph4mm*" for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]
    )
    assert (REPO_ROOT / "hf_graph4mm_cli" / "__init__.py").is_file()


def test_a_missing_data_folder_is_named_before_any_backbone_is_looked_up(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    config = ["--config", str(REPO_ROOT / "configs" / "wikiweb2m_opt125m.yaml"), "--output_dir", "o"]
    with pytest.raises(
        FileNotFoundError, match=r"--raw_dir 'data/wikiweb2m-missing': there is no such file or folder"
    ):
        cli.main(["train", *config, "--raw_dir", "data/wikiweb2m-missing"])
    with pytest.raises(FileNotFoundError, match=r"--raw_dir 'data/wikiweb2m': there is no such"):
        cli.main(["train", *config])  # the config's own folder, not downloaded yet
    with pytest.raises(ValueError, match="needs --raw_dir"):
        cli.main(["train", "--model_family", "gsit", "--dataset", "mmsa", "--output_dir", "o"])


def test_dataset_scripts_and_build_graph_accept_either_spelling(monkeypatch):
    import argparse
    import runpy

    from hf_graph4mm import cli_build_graph
    from hf_graph4mm.training.command_line import spelled_as

    scripts = REPO_ROOT / "dataset_scripts"
    for name in ("mmsa", "ele_fashion", "sentiment_features"):
        module = runpy.run_path(str(scripts / f"{name}.py"))
        first = "--input" if name == "sentiment_features" else "--raw-dir"
        dashed = module["parse_args"]([first, "x", "--output-dir", "out"])
        plain = module["parse_args"](["--" + first[2:].replace("-", "_"), "x", "--output_dir", "out"])
        assert dashed == plain and str(plain.output_dir) == "out"
    wikiweb2m = runpy.run_path(str(scripts / "wikiweb2m.py"))["parser"]()
    build = next(a for a in wikiweb2m._actions if isinstance(a, argparse._SubParsersAction)).choices["build"]
    assert spelled_as(build, ["--raw_dir", "r", "--output_dir", "o", "--num_proc", "2"]) == [
        "--raw-dir", "r", "--output-dir", "o", "--num-proc", "2",
    ]  # fmt: skip
    seen = {}
    monkeypatch.setitem(cli.COMMANDS, "build-graph", (lambda argv: seen.setdefault("argv", argv) and 0, "b"))
    cli.main(["build-graph", "--nodes", "n.csv", "--images_dir", "img", "--output", "out", "--string_ids"])
    assert seen["argv"] == ["--nodes", "n.csv", "--images-dir", "img", "--output", "out", "--string-ids"]
    assert cli_build_graph.parser().parse_args(seen["argv"]).images_dir == "img"


def test_samples_with_an_empty_modality_stop_training_unless_skipped(tmp_path, caplog):
    import numpy as np

    from hf_graph4mm.testing.sentiment_features import (
        ragged_sentiment_rows,
        split_rows,
        write_sentiment_parquet,
    )

    rows = ragged_sentiment_rows(10, seed=8)
    rows[2] = {**rows[2], "audio": np.zeros((0, rows[2]["audio"].shape[1]), dtype=np.float32)}
    write_sentiment_parquet(tmp_path / "data", split_rows(rows, test_share=0.2))
    argv = [
        "train", "--model_family", "gsit", "--dataset", str(tmp_path / "data"), "--hidden_size", "16",
        "--num_attention_heads", "2", "--num_layers", "1", "--max_steps", "2", "--per_device_train_batch_size", "8",
        "--output_dir", str(tmp_path / "run"), "--report_to", "none", "--use_cpu", "true", "--save_strategy", "no",
    ]  # fmt: skip
    with pytest.raises(
        ValueError, match=r"sample 'clip002' .*audio_features is empty.*--skip_empty_sequences true"
    ):
        cli.main(argv)
    assert cli.main([*argv, "--skip_empty_sequences", "true"]) == 0
    assert "train: dropped 1 samples with an empty modality" in caplog.text


def test_evaluate_with_its_defaults_generates_as_train_and_the_demo_did(tmp_path, monkeypatch):
    """As the demo: train a tiny Graph4MM on the bundled sample with the default generation length, then
    `evaluate --model DIR` with no other flag: both generate the same test split with the same settings."""
    from hf_graph4mm.training import graph4mm_task

    calls = []
    real = graph4mm_task.generate_texts

    def recording(model, processor, rows, prompt, **kwargs):
        texts = real(model, processor, rows, prompt, **kwargs)
        calls.append({"rows": len(list(rows)), "prompt": prompt, **kwargs, "texts": texts})
        return texts

    monkeypatch.setattr(graph4mm_task, "generate_texts", recording)
    output = tmp_path / "graph4mm"
    argv = [
        "train", "--max_train_samples", "2", "--max_steps", "1", "--per_device_train_batch_size", "2",
        "--max_length", "192", "--max_target_length", "16", "--max_node_tokens", "16", "--output_dir", str(output),
        "--report_to", "none", "--use_cpu", "true", "--save_strategy", "no",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    assert cli.main(["evaluate", "--model", str(output)]) == 0
    trained, evaluated = calls
    assert trained["max_new_tokens"] == evaluated["max_new_tokens"] == EVAL_MAX_NEW_TOKENS == 32
    assert trained == evaluated  # same rows, prompt, settings and so the same texts
    assert json.loads((output / "test_metrics.json").read_text()) == json.loads(
        (output / "eval_metrics.json").read_text()
    )


def test_gsit_trains_evaluates_and_predicts_on_an_arrow_save_to_disk_folder(tmp_path):
    from hf_graph4mm.data.sentiment import sentiment_dataset
    from hf_graph4mm.testing.sentiment_features import ragged_sentiment_rows, split_rows

    sentiment_dataset(split_rows(ragged_sentiment_rows(10, seed=9), test_share=0.3)).save_to_disk(
        str(tmp_path / "arrow")
    )
    output = tmp_path / "run"
    argv = [
        "train", "--model_family", "gsit", "--dataset", str(tmp_path / "arrow"), "--hidden_size", "16",
        "--num_attention_heads", "2", "--num_layers", "1", "--max_steps", "1", "--output_dir", str(output),
        "--report_to", "none", "--use_cpu", "true", "--save_strategy", "no",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    assert cli.main(["evaluate", "--model", str(output), "--dataset", str(tmp_path / "arrow")]) == 0
    trained = json.loads((output / "test_metrics.json").read_text())
    assert json.loads((output / "eval_metrics.json").read_text())["mae"] == pytest.approx(
        trained["test_mae"], abs=1e-5
    )
    predictions = tmp_path / "p.jsonl"
    assert (
        cli.main(
            [
                "predict",
                "--model",
                str(output),
                "--dataset",
                str(tmp_path / "arrow"),
                "--output",
                str(predictions),
            ]
        )
        == 0
    )
    assert len(predictions.read_text().splitlines()) == 3
