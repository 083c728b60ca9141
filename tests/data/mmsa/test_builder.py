"""MMSA pickles (MOSI / MOSEI / SIMS layouts) -> datasets for GsiT, and the restricted unpickler."""

from __future__ import annotations

import collections
import os
import pickle
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import yaml

from hf_graph4mm.data.mmsa import load_mmsa, read_mmsa_pickle
from hf_graph4mm.data.mmsa.safe_pickle import UnsafePickleError, safe_load_pickle
from hf_graph4mm.testing.samples.mmsa import SAMPLE_PICKLE, write_mmsa_pickle


def _split(count: int, offset: int, text_len: int = 4, audio=(5, 2), vision=(6, 3), lengths=True) -> dict:
    """A hand-made split in the release layout: values encode (sample, position) so they can be checked."""
    rng = np.random.default_rng(offset)
    ids = np.zeros((count, 3, text_len), dtype=np.float32)
    for index in range(count):
        real = 2 + index % (text_len - 1)
        ids[index, 0, :real] = np.arange(101, 101 + real)
        ids[index, 1, :real] = 1
    fields = {
        "raw_text": np.array([f"sentence {offset + i}" for i in range(count)], dtype=object),
        "id": np.array([f"vid{offset + i}$_$1" for i in range(count)], dtype=object),
        "text": rng.normal(size=(count, text_len, 8)).astype(np.float32),
        "text_bert": ids,
        "audio": rng.normal(size=(count, *audio)).astype(np.float32),
        "vision": rng.normal(size=(count, *vision)).astype(np.float32),
        "regression_labels": np.linspace(-3, 3, count).astype(np.float32),
        "classification_labels": np.arange(count, dtype=np.float32) % 3,
    }
    if lengths:
        fields["audio_lengths"] = [audio[0] - i % 2 for i in range(count)]
        fields["vision_lengths"] = list(np.full(count, vision[0] - 1))
    return fields


def _write(path: Path, content) -> Path:
    with open(path, "wb") as handle:
        pickle.dump(content, handle, protocol=4)
    return path


@pytest.fixture
def mosi_pickle(tmp_path):
    content = {"train": _split(3, 0), "valid": _split(2, 10), "test": _split(2, 20)}
    content["train"]["audio"][1, 2, 0] = -np.inf
    content["test"]["audio"][0, 0, :] = -np.inf
    return _write(tmp_path / "unaligned_50.pkl", content), content


def test_mosi_layout_counts_columns_and_values(mosi_pickle, tmp_path):
    path, content = mosi_pickle
    dataset = load_mmsa(path, cache_dir=tmp_path / "cache")
    assert {split: part.num_rows for split, part in dataset.items()} == {
        "train": 3,
        "validation": 2,
        "test": 2,
    }
    train = dataset["train"].with_format("numpy")[:]
    source = content["train"]
    expected_audio = np.where(np.isneginf(source["audio"]), 0.0, source["audio"])
    np.testing.assert_array_equal(train["audio_features"], expected_audio)
    assert train["audio_features"][1, 2, 0] == 0.0 and np.isfinite(train["audio_features"]).all()
    np.testing.assert_array_equal(train["vision_features"], source["vision"])
    np.testing.assert_array_equal(train["text_features"], source["text"])
    np.testing.assert_array_equal(train["input_ids"], source["text_bert"][:, 0].astype(np.int64))
    np.testing.assert_array_equal(train["attention_mask"], source["text_bert"][:, 1].astype(np.int64))
    np.testing.assert_array_equal(train["text_lengths"], [2, 3, 4])  # hand count of the mask rows
    np.testing.assert_array_equal(train["audio_lengths"], [5, 4, 5])
    np.testing.assert_array_equal(train["vision_lengths"], [5, 5, 5])
    np.testing.assert_allclose(train["labels"], [-3.0, 0.0, 3.0])
    assert list(dataset["train"]["id"]) == ["vid0$_$1", "vid1$_$1", "vid2$_$1"]
    assert dataset["validation"][1]["raw_text"] == "sentence 11"
    assert dataset["test"].with_format("numpy")[:]["audio_features"][0, 0].tolist() == [0.0, 0.0]
    # The pickle itself still holds -inf: the fix happens on loading, not by mutating the source.
    assert np.isneginf(safe_load_pickle(path)["train"]["audio"]).sum() == 1


def test_prepared_cache_is_reused_until_the_file_changes(mosi_pickle, tmp_path):
    from hf_graph4mm.data.mmsa import builder as mmsa

    path, content = mosi_pickle
    first = load_mmsa(path, cache_dir=tmp_path / "cache")
    with mock.patch.object(mmsa, "read_mmsa_pickle", side_effect=AssertionError("unpickled again")):
        again = load_mmsa(path, cache_dir=tmp_path / "cache")
    assert again["train"]["labels"] == first["train"]["labels"]
    content["train"]["regression_labels"] = np.array([1.0, 2.0, 2.5], dtype=np.float32)
    _write(path, content)
    os.utime(path, ns=(0, 10**18))  # a different mtime even on coarse-clock filesystems
    np.testing.assert_allclose(
        load_mmsa(path, cache_dir=tmp_path / "cache")["train"]["labels"], [1.0, 2.0, 2.5]
    )


def test_text_inputs_choose_the_text_columns(mosi_pickle, tmp_path):
    path, _ = mosi_pickle
    features_only = load_mmsa(path, text_inputs="features", cache_dir=tmp_path / "cache")["train"]
    ids_only = load_mmsa(path, text_inputs="token_ids", cache_dir=tmp_path / "cache")["train"]
    assert "text_features" in features_only.column_names and "input_ids" not in features_only.column_names
    assert "input_ids" in ids_only.column_names and "text_features" not in ids_only.column_names

    content = {"train": _split(2, 0)}
    del content["train"]["text"]
    no_features = _write(tmp_path / "bert_only.pkl", content)
    with pytest.raises(ValueError, match="text_inputs='features' but the file has no 'text'"):
        load_mmsa(no_features, text_inputs="features", cache_dir=tmp_path / "cache")


def test_sims_layout_keeps_unimodal_labels_and_aligned_files_have_no_lengths(tmp_path):
    sims = {split: _split(2, offset) for split, offset in (("train", 0), ("valid", 5), ("test", 9))}
    for split in sims.values():
        for modality, shift in zip("TAV", (0.1, 0.2, 0.3)):
            split[f"regression_labels_{modality}"] = split["regression_labels"] / 3 + shift
    dataset = load_mmsa(_write(tmp_path / "sims.pkl", sims), cache_dir=tmp_path / "cache")
    for modality, shift in zip("TAV", (0.1, 0.2, 0.3)):
        np.testing.assert_allclose(
            dataset["train"][f"regression_labels_{modality}"], [-1 + shift, 1 + shift], rtol=1e-6
        )

    aligned = {"train": _split(2, 0, lengths=False), "valid": _split(1, 3, lengths=False)}
    aligned_set = load_mmsa(_write(tmp_path / "aligned_50.pkl", aligned), cache_dir=tmp_path / "cache")
    assert set(aligned_set) == {"train", "validation"}
    assert "audio_lengths" not in aligned_set["train"].column_names


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda c: c["train"].pop("audio"), "split 'train' has no 'audio' field"),
        (lambda c: c["train"].update(vision=c["train"]["vision"][:2]), "field 'vision' has 2 samples but"),
        (
            lambda c: c["valid"]["vision"].__setitem__((1, 0, 0), np.nan),
            r"sample #1 \(id 'vid11\$_\$1'\).*'vision'",
        ),
        (
            lambda c: c["test"].update(audio_lengths=[9, 1]),
            r"sample #0 \(id 'vid20\$_\$1'\) has audio_lengths=9",
        ),
        (
            lambda c: c["train"].update(text_bert=c["train"]["text_bert"][:, :2]),
            r"'text_bert' should be \[N, 3, L\]",
        ),
    ],
)
def test_malformed_content_names_split_field_and_sample(tmp_path, corrupt, message):
    content = {"train": _split(3, 0), "valid": _split(2, 10), "test": _split(2, 20)}
    corrupt(content)
    path = _write(tmp_path / "bad.pkl", content)
    with pytest.raises(ValueError, match=message) as error:
        read_mmsa_pickle(path)
    assert str(path) in str(error.value)


def test_missing_truncated_and_non_dict_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_mmsa(tmp_path / "nope.pkl")
    good = _write(tmp_path / "good.pkl", {"train": _split(2, 0)})
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match=f"{truncated}: not a readable pickle"):
        read_mmsa_pickle(truncated)
    with pytest.raises(ValueError, match="expected a dict with 'train'/'valid'/'test'"):
        read_mmsa_pickle(_write(tmp_path / "list.pkl", [1, 2, 3]))


class _RunsAShellCommand:
    """Pickles as a call to os.system (a classic malicious pickle)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _CallsEval:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_malicious_pickle_is_refused_without_running_it(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    payload = {"train": {"audio": _RunsAShellCommand(marker)}}
    path.write_bytes(pickle.dumps(payload, protocol=protocol))
    with pytest.raises(
        UnsafePickleError, match=r"evil\.pkl: refusing to unpickle the global '(posix|os)\.system'"
    ):
        load_mmsa(path, cache_dir=tmp_path / "cache")
    assert not marker.exists()
    # The same file really is malicious: an unrestricted pickle.load would have run the command.
    pickle.loads(path.read_bytes())
    assert marker.exists()

    eval_path = tmp_path / "eval.pkl"
    eval_path.write_bytes(pickle.dumps([_CallsEval()], protocol=protocol))
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval"):
        safe_load_pickle(eval_path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_restricted_unpickler_reads_numpy_and_containers_exactly(tmp_path, protocol):
    data = collections.OrderedDict(
        array=np.arange(12, dtype=np.float64).reshape(3, 4),
        strings=np.array(["a", "bb"], dtype=object),
        scalar=np.float32(2.5),
        nested={"set": {1, 2}, "tuple": (1, "x"), "bytes": b"\x00\x01"},
    )
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    loaded = safe_load_pickle(path)
    assert isinstance(loaded, collections.OrderedDict)
    np.testing.assert_array_equal(loaded["array"], data["array"])
    assert loaded["array"].dtype == np.float64 and loaded["strings"].tolist() == ["a", "bb"]
    assert loaded["scalar"] == np.float32(2.5) and loaded["nested"] == data["nested"]


def test_pickles_written_under_numpy_1_are_accepted(tmp_path):
    """numpy 1 names ``numpy.core.multiarray``; protocol 2 spells globals as plain text, so rewrite it."""
    data = pickle.dumps({"train": {"audio": np.arange(4.0).reshape(1, 2, 2)}}, protocol=2)
    assert b"numpy._core.multiarray" in data
    path = tmp_path / "old.pkl"
    path.write_bytes(data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    np.testing.assert_array_equal(safe_load_pickle(path)["train"]["audio"], np.arange(4.0).reshape(1, 2, 2))


def test_bundled_sample_is_small_and_loads(tmp_path):
    assert SAMPLE_PICKLE.is_file() and SAMPLE_PICKLE.stat().st_size < 1024 * 1024
    raw = safe_load_pickle(SAMPLE_PICKLE)
    assert np.isneginf(raw["train"]["audio"]).any()
    dataset = load_mmsa(SAMPLE_PICKLE, cache_dir=tmp_path / "cache")
    assert {split: part.num_rows for split, part in dataset.items()} == {
        "train": 24,
        "validation": 8,
        "test": 8,
    }
    train = dataset["train"].with_format("numpy")[:]
    assert np.isfinite(train["audio_features"]).all()
    # Every feature carries the label in the sample: the mean text feature along the label
    # direction correlates with the label (so a tiny model can learn something).
    direction = np.linspace(-1, 1, train["text_features"].shape[-1])
    projection = train["text_features"].mean(axis=1) @ direction
    assert np.corrcoef(projection, train["labels"])[0, 1] > 0.8
    # Regenerating reproduces the committed file byte for byte.
    assert write_mmsa_pickle(tmp_path / "again.pkl").read_bytes() == SAMPLE_PICKLE.read_bytes()


def test_batches_feed_gsit_forward(tmp_path):
    import torch

    from hf_graph4mm.modeling.gsit import GsiTConfig, GsiTForSequenceClassification

    dataset = load_mmsa(SAMPLE_PICKLE, cache_dir=tmp_path / "cache")["train"]
    batch = dataset.remove_columns(["id", "raw_text", "classification_labels"]).with_format("torch")[:4]
    config = GsiTConfig(
        text_dim=768, audio_dim=5, vision_dim=20, hidden_size=16, num_attention_heads=2, num_layers=1
    )
    model = GsiTForSequenceClassification(config).eval()
    inputs = {
        key: value
        for key, value in batch.items()
        if key not in ("input_ids", "token_type_ids", "attention_mask")
    }
    output = model(**inputs)
    assert output.logits.shape == (4, 1) and torch.isfinite(output.loss)
    expected = (output.logits.squeeze(-1) - batch["labels"]).abs().mean()
    torch.testing.assert_close(output.loss, expected)


def test_script_writes_parquet_and_card_and_pushes(mosi_pickle, tmp_path, load_dataset_script):
    import datasets
    from huggingface_hub import HfApi

    path, _ = mosi_pickle
    script = load_dataset_script("mmsa")
    out = tmp_path / "out"
    with (
        mock.patch.object(HfApi, "create_repo") as create_repo,
        mock.patch.object(HfApi, "create_commit") as create_commit,
    ):
        assert script.main(["--raw-dir", str(path.parent), "--output-dir", str(out),
                            "--cache-dir", str(tmp_path / "cache"), "--push-to-hub", "org/mosi"]) == 0  # fmt: skip
    assert (
        create_repo.call_args.args[0] == "org/mosi" and create_repo.call_args.kwargs["repo_type"] == "dataset"
    )
    uploaded = {op.path_in_repo for op in create_commit.call_args.kwargs["operations"]}
    assert uploaded == {"README.md", "data/train.parquet", "data/validation.parquet", "data/test.parquet"}

    card = (out / "README.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert header["pretty_name"].startswith("CMU-MOSI") and header["license"] == "other"
    assert [f["split"] for f in header["configs"][0]["data_files"]] == ["train", "validation", "test"]
    reloaded = datasets.load_dataset(str(out))
    assert {split: part.num_rows for split, part in reloaded.items()} == {
        "train": 3,
        "validation": 2,
        "test": 2,
    }
    assert reloaded["train"].features["audio_features"].shape == (5, 2)
    np.testing.assert_allclose(reloaded["train"]["labels"], [-3.0, 0.0, 3.0])

    (path.parent / "other.pkl").write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match="exactly one .pkl"):
        script.main(["--raw-dir", str(path.parent), "--output-dir", str(out)])
