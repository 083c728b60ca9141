"""WikiWeb2M shards broken in the ways a release-scale download breaks: each build fails with a
message naming the file (and record) and what was expected, leaving nothing half-built in the
cache; what a glance at each file shows (GZIP magic, first record, file names) fails before any
shard is built."""

import numpy as np
import pytest

from hf_graph4mm.data import load_wikiweb2m
from hf_graph4mm.data.wikiweb2m import WikiWeb2MBuilder
from hf_graph4mm.data.wikiweb2m.pages import FEATURE_KINDS
from hf_graph4mm.data.wikiweb2m.shards import check_shard_names, release_split
from hf_graph4mm.data.wikiweb2m.tfrecord import (
    count_tfrecord,
    decode_sequence_example,
    encode_sequence_example,
    write_tfrecord,
)
from hf_graph4mm.testing.samples.wikiweb2m import make_page

SECTIONS = [{"title": "S", "rest": "More."}]


def shard(raw, name, pages, **kwargs):
    raw.mkdir(exist_ok=True)
    path = raw / name
    write_tfrecord(path, pages, **kwargs)
    return path


def build_error(tmp_path, match, **kwargs):
    with pytest.raises(ValueError, match=match) as caught:
        load_wikiweb2m(tmp_path / "raw", cache_dir=tmp_path / "cache", **kwargs)
    assert not list((tmp_path / "cache").rglob("*.arrow"))  # nothing half-built is left in the cache
    return caught


def test_not_gzip_although_named_gz(tmp_path):
    path = shard(
        tmp_path / "raw", "wikiweb2m-val.tfrecord.gz", [make_page("P", "val", SECTIONS)], compression=None
    )
    build_error(tmp_path, rf"{path}: expected a GZIP file \(the name says \.gz\) but it starts with")


def test_corrupt_gzip_stream_names_file_and_record(tmp_path):
    path = shard(
        tmp_path / "raw",
        "wikiweb2m-val.tfrecord.gz",
        [make_page(f"P{i}", "val", SECTIONS) for i in range(40)],
    )
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2 : len(blob) // 2 + 64] = bytes(64)  # garbage in the middle of the deflate stream
    path.write_bytes(bytes(blob))
    build_error(
        tmp_path, r"wikiweb2m-val\.tfrecord\.gz: record \d+ is truncated or not valid GZIP|bad data CRC"
    )


def test_truncated_record_and_crc_mismatch_name_file_and_record(tmp_path):
    path = shard(
        tmp_path / "raw",
        "wikiweb2m-test.tfrecord",
        [make_page(f"P{i}", "test", SECTIONS) for i in range(3)],
        compression=None,
    )
    good = path.read_bytes()
    assert count_tfrecord(path) == 3
    path.write_bytes(good[:-7])
    build_error(
        tmp_path, r"wikiweb2m-test\.tfrecord: record 2 is truncated \(expected \d+ data bytes and a CRC\)"
    )
    with pytest.raises(ValueError, match=r"wikiweb2m-test\.tfrecord: record 2 is truncated"):
        count_tfrecord(path)  # the framing-only count (sampling, num_proc) sees the cut too
    # ...and so do sampled and parallel builds, which count pages first
    build_error(tmp_path, r"wikiweb2m-test\.tfrecord: record 2 is truncated", sample_pages=1)
    blob = bytearray(good)
    blob[-5] ^= 0x01  # last data byte of record 2
    path.write_bytes(bytes(blob))
    build_error(tmp_path, r"wikiweb2m-test\.tfrecord: record 2 has a bad data CRC")


def test_missing_split_feature(tmp_path):
    page = encode_sequence_example({"page_title": ["P"]}, {"section_title": [["S"]]}, FEATURE_KINDS)
    shard(tmp_path / "raw", "wikiweb2m-a.tfrecord.gz", [make_page("OK", sections=SECTIONS), page])
    build_error(
        tmp_path,
        r"wikiweb2m-a\.tfrecord\.gz, record 1: missing the context feature 'split' \(a bytes_list holding one of",
    )


@pytest.mark.parametrize(
    ("context", "lists", "message"),
    [
        (
            {"split": ["train"], "page_title": [7]},
            {},
            r"record 1: feature 'page_title' is a int64_list; the release stores it as a bytes_list",
        ),
        (
            {"split": ["train"]},
            {"section_title": [["A"]], "section_index": [["zero"]]},
            r"record 1: feature 'section_index' is a bytes_list; the release stores it as a int64_list",
        ),
        (  # a feature the graph never reads is still held to the release's type
            {"split": ["train"]},
            {"section_title": [["A"]], "section_image_width": [[1.5]]},
            r"record 1: feature 'section_image_width' is a float_list; the release stores it as a int64_list",
        ),
    ],
    ids=["context-int-for-bytes", "sequence-bytes-for-int", "unread-feature-float-for-int"],
)
def test_wrong_feature_types(tmp_path, context, lists, message):
    page = encode_sequence_example(context, lists)  # kinds inferred from the values: the wrong ones
    shard(tmp_path / "raw", "wikiweb2m-a.tfrecord.gz", [make_page("OK", sections=SECTIONS), page])
    build_error(tmp_path, rf"wikiweb2m-a\.tfrecord\.gz, {message}")


def test_feature_list_mixing_kinds_is_not_a_valid_record(tmp_path):
    # The encoder infers each step's kind from its values: a bytes step, then an int64 step.
    page = encode_sequence_example({"split": ["train"]}, {"section_title": [["A"], [3]]})
    shard(tmp_path / "raw", "wikiweb2m-a.tfrecord.gz", [page])
    build_error(
        tmp_path,
        r"wikiweb2m-a\.tfrecord\.gz, record 0: not a valid SequenceExample "
        r"\(feature list 'section_title' mixes bytes_list and int64_list steps\)",
    )


def test_page_in_a_file_named_for_another_split(tmp_path):
    shard(
        tmp_path / "raw",
        "wikiweb2m-val.tfrecord.gz",
        [make_page("V", "val", SECTIONS), make_page("T", "test", SECTIONS)],
    )
    build_error(
        tmp_path,
        r"wikiweb2m-val\.tfrecord\.gz, record 1: page of split 'test' in a file whose name says 'validation'",
    )


def test_release_parts_must_be_complete_and_agree(tmp_path):
    raw = tmp_path / "raw"
    for part in (0, 2):
        shard(
            raw,
            f"wikiweb2m-train.tfrecord.gz-{part:05d}-of-00003",
            [make_page(f"P{part}", sections=SECTIONS)],
        )
    build_error(
        tmp_path,
        r"incomplete WikiWeb2M release: missing .*wikiweb2m-train\.tfrecord\.gz-00001-of-00003 \(found 2 of 3 parts\)",
    )
    with pytest.raises(ValueError, match=r"disagree on how many there are \(2 vs 3\)"):
        check_shard_names([f"/r/wikiweb2m-train.tfrecord.gz-0000{i}-of-0000{n}" for i, n in ((0, 3), (1, 2))])
    check_shard_names(["/r/wikiweb2m-train.tfrecord.gz-00000-of-00001", "/r/wikiweb2m-mine.tfrecord.gz"])
    assert [release_split(f"/r/wikiweb2m-{s}.tfrecord.gz") for s in ("train", "val", "test", "mine")] == [
        "train", "validation", "test", None,
    ]  # fmt: skip


def test_checks_run_before_any_shard_is_built(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    shard(raw, "wikiweb2m-a.tfrecord.gz", [make_page("A", sections=SECTIONS)])
    shard(raw, "wikiweb2m-b.tfrecord.gz", [make_page("B", split="dev", sections=SECTIONS)])
    built = []
    monkeypatch.setattr(
        "hf_graph4mm.data.wikiweb2m.builder.write_shard", lambda task, **kw: built.append(task)
    )
    build_error(tmp_path, r"wikiweb2m-b\.tfrecord\.gz, record 0: context feature 'split' is 'dev'")
    assert built == []


def test_every_split_is_built_in_one_pass_over_each_shard(tmp_path, monkeypatch):
    from hf_graph4mm.data.wikiweb2m import arrow

    raw = tmp_path / "raw"
    mixed = [
        make_page(f"P{i}", split=s, sections=SECTIONS) for i, s in enumerate(["train", "val", "test"] * 2)
    ]
    shard(raw, "wikiweb2m-0.tfrecord.gz", mixed[:4])
    shard(raw, "wikiweb2m-1.tfrecord.gz", mixed[4:])
    opened = []
    real = arrow.read_tfrecord
    monkeypatch.setattr(arrow, "read_tfrecord", lambda path, **kw: (opened.append(path), real(path, **kw))[1])
    dataset = load_wikiweb2m(raw, cache_dir=tmp_path / "cache")
    assert sorted(opened) == [str(raw / "wikiweb2m-0.tfrecord.gz"), str(raw / "wikiweb2m-1.tfrecord.gz")]
    assert {split: ds["page_id"] for split, ds in dataset.items()} == {
        "train": [0, 3], "validation": [1, 4], "test": [2, 5],
    }  # fmt: skip


def test_sampled_parallel_build_matches_the_serial_one(tmp_path):
    raw = tmp_path / "raw"
    for part in range(3):
        pages = [
            make_page(f"P{part}{i}", split=s, sections=SECTIONS)
            for i, s in enumerate(["train", "val", "test", "train"])
        ]
        shard(raw, f"wikiweb2m-{part}.tfrecord.gz", pages)
    serial = load_wikiweb2m(raw, sample_pages=7, seed=3, cache_dir=tmp_path / "c1")
    parallel = load_wikiweb2m(raw, sample_pages=7, seed=3, num_proc=2, cache_dir=tmp_path / "c2")
    assert {k: v.to_list() for k, v in serial.items()} == {k: v.to_list() for k, v in parallel.items()}
    page_ids = sorted(page for ds in serial.values() for page in ds["page_id"])
    assert page_ids == sorted(np.random.default_rng(3).choice(12, size=7, replace=False).tolist())


def test_builder_refuses_streaming_and_per_split_generation(tmp_path):
    builder = WikiWeb2MBuilder(cache_dir=str(tmp_path / "cache"), data_dir=str(tmp_path))
    with pytest.raises(NotImplementedError, match="one pass"):
        builder._split_generators(None)


def test_decoder_fast_path_agrees_with_the_general_rules():
    # Same feature, canonical (key, value) and reversed (value, key) map entries with an unknown field.
    feature = encode_sequence_example({"k": [b"v", b"w"]}, {})
    canonical = decode_sequence_example(feature)
    key, value = b"\x0a\x01k", feature[feature.index(b"\x12", 4) :]
    value = value[: value[1] + 2]
    entry = value + b"\x18\x05" + key  # value first, then an unknown varint field 3, then the key
    features = b"\x0a" + bytes([len(entry)]) + entry
    reordered = decode_sequence_example(b"\x0a" + bytes([len(features)]) + features)
    assert canonical.context == reordered.context == {"k": [b"v", b"w"]}
    assert reordered.kinds == {"k": "bytes_list"}
