import json
from pathlib import Path

import pytest

from hf_graph4mm.cli import main
from hf_graph4mm.modeling.gsit.presets import published_preset
from hf_graph4mm.training.arguments import parse_arguments

CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.stem)
def test_shipped_configs_parse_with_the_paper_settings(config):
    # use_cpu: the LLaMA config asks for bf16, which TrainingArguments only accepts on CPU when told so
    model_args, data_args, training_args = parse_arguments(
        ["--config", str(config), "--output_dir", "x", "--use_cpu", "true"]
    )
    if model_args.model_family == "graph4mm":
        assert training_args.learning_rate == 1e-4 and model_args.diffusion_steps == 2
        assert model_args.num_query_tokens_per_image == 4 and data_args.max_length == 1024
        assert training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps == 32
    else:  # the published setting (tests/modeling/gsit/test_presets.py checks every value)
        training = published_preset(model_args.preset, model_args.gsit_fusion).training
        assert training_args.learning_rate == training.learning_rate
        assert training_args.per_device_train_batch_size == training.batch_size
        assert model_args.hidden_size is None and model_args.num_layers is None  # the preset's
    assert training_args.output_dir == "x"  # flags after the file override it


def test_flag_overrides_file_value(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model_family: gsit\nlearning_rate: 0.1\nhidden_size: 64\n")
    model_args, _, training_args = parse_arguments(["--config", str(config), "--learning_rate", "0.2"])
    assert training_args.learning_rate == 0.2 and model_args.hidden_size == 64


def test_unknown_config_keys_and_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        parse_arguments(["--config", str(tmp_path / "nope.yaml")])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_family: gsit\nnot_an_argument: 3\n")
    with pytest.raises(ValueError, match="not_an_argument"):
        parse_arguments(["--config", str(bad)])


def test_train_then_evaluate_from_the_command_line(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(
        "model_family: graph4mm\ndataset: sample\nmax_train_samples: 4\nmax_eval_samples: 2\n"
        "max_length: 192\nmax_target_length: 16\nmax_node_tokens: 16\nmax_new_tokens: 4\n"
        "cache_vision_features: true\nmax_steps: 2\nper_device_train_batch_size: 2\nreport_to: none\n"
        "use_cpu: true\nsave_strategy: 'no'\n"
    )
    output = tmp_path / "out"
    assert main(["train", "--config", str(config), "--output_dir", str(output)]) == 0
    metrics = json.loads((output / "test_metrics.json").read_text())
    assert metrics["num_samples"] == 2 and {"bleu4", "rougeL", "cider"} <= set(metrics)
    assert (output / "vision_features.safetensors").is_file()
    assert main(["evaluate", "--model", str(output), "--max_eval_samples", "2", "--max_new_tokens", "4"]) == 0
    evaluated = json.loads((output / "eval_metrics.json").read_text())
    assert evaluated["num_samples"] == 2
    assert "bleu4" in capsys.readouterr().out
