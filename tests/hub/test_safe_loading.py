"""Safe loading: safetensors only; truncated/tampered weights, wrong model_type, missing files are clear errors."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSequenceClassification, pipeline

from hf_graph4mm import GsiTForSequenceClassification
from hf_graph4mm.hub import check_checkpoint, load_checkpoint, save_for_hub
from hf_graph4mm.hub.safe_loading import check_processor_files, write_checksums
from hf_graph4mm.testing import tiny_graph4mm, tiny_gsit


@pytest.fixture(scope="module")
def saved_gsit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("safe") / "gsit"
    model = tiny_gsit()
    save_for_hub(model, folder)
    return model, folder


@pytest.fixture
def gsit_copy(saved_gsit, tmp_path):
    model, folder = saved_gsit
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    return model, copy


def test_a_good_checkpoint_loads_with_identical_weights(saved_gsit):
    model, folder = saved_gsit
    loaded = load_checkpoint(folder, AutoModelForSequenceClassification, expected_model_type="gsit")
    assert type(loaded) is GsiTForSequenceClassification
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_truncated_weights(gsit_copy):
    _, folder = gsit_copy
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-16])
    with pytest.raises(
        ValueError, match="model.safetensors is not a valid safetensors file; it is probably truncated"
    ):
        check_checkpoint(folder)


def test_tampered_header(gsit_copy):
    _, folder = gsit_copy
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    header_length = int.from_bytes(data[:8], "little")
    header = data[8 : 8 + header_length].replace(b'"F32"', b'"F64"', 1)  # same length, wrong byte count
    data[8 : 8 + header_length] = header
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        check_checkpoint(folder)


def test_tampered_tensor_bytes_fail_the_checksum(gsit_copy):
    _, folder = gsit_copy
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF  # a valid file still, with one altered weight
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match its SHA-256"):
        load_checkpoint(folder, AutoModelForSequenceClassification)


def test_unexpected_weights_are_an_error(gsit_copy):
    _, folder = gsit_copy
    tensors = load_file(folder / "model.safetensors")
    tensors["head.extra.weight"] = torch.zeros(2)
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    write_checksums(folder)
    with pytest.raises(ValueError, match="head.extra.weight"):
        load_checkpoint(folder, AutoModelForSequenceClassification)


def test_wrong_model_type(gsit_copy):
    _, folder = gsit_copy
    with pytest.raises(ValueError, match="model_type 'gsit', but a 'graph4mm' checkpoint was expected"):
        check_checkpoint(folder, expected_model_type="graph4mm")
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "bert"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="model_type 'bert'"):
        load_checkpoint(folder, GsiTForSequenceClassification, expected_model_type="gsit")


def test_pickle_weights_are_refused(gsit_copy):
    model, folder = gsit_copy
    (folder / "model.safetensors").unlink()
    (folder / "weights_sha256.json").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"only pickle weights \['pytorch_model.bin'\]; refusing"):
        check_checkpoint(folder)


def test_missing_shard_and_bad_config(gsit_copy):
    _, folder = gsit_copy
    index = {"metadata": {}, "weight_map": {"head.dense.weight": "model-00002-of-00002.safetensors"}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match=r"missing from .*\['model-00002-of-00002.safetensors'\]"):
        check_checkpoint(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        check_checkpoint(folder)


def test_missing_processor_files(tmp_path):
    model, processor = tiny_graph4mm()
    model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"lacks the processor files \['processor_config.json'"):
        check_processor_files(tmp_path)
    with pytest.raises(ValueError, match="needs a Graph4MMProcessor"):
        pipeline("graph-text-generation", model=str(tmp_path))
    processor.save_pretrained(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    (tmp_path / "tokenizer_config.json").unlink()
    with pytest.raises(ValueError, match="tokenizer.json or tokenizer_config.json"):
        check_checkpoint(tmp_path, require_processor=True)


def test_pipeline_from_a_folder_runs_the_same_checks(gsit_copy):
    _, folder = gsit_copy
    with pytest.raises(ValueError, match="model_type 'gsit', but a 'graph4mm' checkpoint was expected"):
        pipeline("graph-text-generation", model=str(folder))
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-16])
    with pytest.raises(ValueError, match="probably truncated"):
        pipeline("multimodal-sentiment-analysis", model=str(folder))
