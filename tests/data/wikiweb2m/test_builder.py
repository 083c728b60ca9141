"""WikiWeb2M: shards in the release's format -> section-summarisation examples with page graphs."""

import logging
import os

import datasets
import numpy as np
import pytest
from PIL import Image

from hf_graph4mm.data import load_wikiweb2m
from hf_graph4mm.data.wikiweb2m.pages import image_file_name
from hf_graph4mm.data.wikiweb2m.tfrecord import encode_sequence_example, read_tfrecord, write_tfrecord
from hf_graph4mm.processing import MultimodalGraph
from hf_graph4mm.testing.samples import SAMPLE_DATA
from hf_graph4mm.testing.samples.wikiweb2m import make_page, write_wikiweb2m_sample

SAMPLE = SAMPLE_DATA / "wikiweb2m"


def save_png(path):
    Image.new("RGB", (4, 4), (10, 200, 30)).save(path)


HAND_CHECKED_SECTIONS = [
    {"title": "Intro", "first": "Intro first.", "rest": "Intro rest.", "sample": False},
    {
        "title": "History",
        "first": "The town began in 1200.",
        "rest": "Farmers came first. Then a market grew.",
        "images": [("https://x.org/a.png", "cap A"), ("", ""), ("https://x.org/b.png", "cap B")],
    },
    {
        "title": "Early",
        "parent": 1,
        "first": "Early days were hard.",
        "rest": "",
        "images": [("https://x.org/c.png", "")],
    },
    {
        "title": "Late",
        "parent": 1,
        "first": "Later it grew.",
        "rest": "Roads came.",
        "images": [("https://x.org/d", "")],
    },
    {"title": "Legacy", "first": "", "rest": "Only rest."},  # flagged, but no first sentence: no sample
]


@pytest.fixture
def hand_checked(tmp_path):
    raw = tmp_path / "raw"
    images = raw / "images"
    images.mkdir(parents=True)
    write_tfrecord(
        raw / "wikiweb2m-train.tfrecord.gz", [make_page("Testtown", sections=HAND_CHECKED_SECTIONS)]
    )
    save_png(images / "0_1_0.png")  # a.png present; b.png (slot 2) missing but captioned
    save_png(images / "0_3_0.png")  # d has no extension: named from the MIME type
    return raw


def test_hand_checked_page_graph(hand_checked, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="hf_graph4mm"):
        dataset = load_wikiweb2m(hand_checked, cache_dir=tmp_path / "cache")
    assert list(dataset) == ["train"]
    rows = dataset["train"]
    assert rows["id"] == ["0_1", "0_2", "0_3"]  # Intro not flagged, Legacy has no first sentence
    assert rows["target_node"] == [2, 3, 4]
    assert rows["target_text"] == ["The town began in 1200.", "Early days were hard.", "Later it grew."]

    graph = MultimodalGraph.from_dict(rows[0]["graph"])
    assert graph.node_ids == [
        "page", "section/0", "section/1", "section/2", "section/3", "section/4", "image/1/0", "image/1/2", "image/3/0",
    ]  # fmt: skip
    assert graph.texts == [
        "Testtown. A page about tests.",
        "Intro: Intro rest.",
        "History: Farmers came first. Then a market grew.",
        "Early",
        "Late: Roads came.",
        "Legacy: Only rest.",
        "cap A",
        "cap B",  # file missing: a caption-only node
        None,  # file present, no caption: an image-only node
    ]
    images_dir = str(hand_checked / "images")
    assert graph.images[:6] == [None] * 6
    assert graph.images[6:] == [
        os.path.join(images_dir, "0_1_0.png"),
        None,
        os.path.join(images_dir, "0_3_0.png"),
    ]
    edges = {tuple(sorted(e)) for e in graph.edge_index.T.tolist()}
    assert edges == {
        (0, 1), (0, 2), (0, 5),  # page - top-level sections
        (1, 2), (2, 5),  # top-level siblings in order
        (2, 3), (2, 4),  # History - its children
        (3, 4),  # siblings under History
        (2, 6), (2, 7), (4, 8),  # sections - their images (c.png dropped: no file, no caption)
    }  # fmt: skip
    assert graph.num_edges == len(edges) and not graph.directed
    for row in rows:
        target_text = MultimodalGraph.from_dict(row["graph"]).texts[row["target_node"]]
        assert row["target_text"] not in target_text
    assert (
        "4 images referenced: 2 found, 1 missing (kept as caption-only nodes), 1 missing without a caption"
        in (caplog.text)
    )


def test_target_sentence_repeated_in_rest_is_removed_from_the_input(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    sections = [{"title": "S", "first": "It is red.", "rest": "It is red. It is big."}]
    write_tfrecord(raw / "wikiweb2m-train.tfrecord.gz", [make_page("P", sections=sections)])
    row = load_wikiweb2m(raw, cache_dir=tmp_path / "cache")["train"][0]
    assert row["graph"]["texts"][row["target_node"]] == "S: It is big."


def test_pages_are_numbered_across_sorted_shards_and_split_by_the_release_field(tmp_path):
    raw = tmp_path / "raw"
    (raw / "images").mkdir(parents=True)
    one_image = [{"title": "S", "rest": "More.", "images": [("https://x.org/i.png", "")]}]
    write_tfrecord(
        raw / "wikiweb2m-a.tfrecord.gz", [make_page(f"A{i}", sections=one_image) for i in range(3)]
    )
    write_tfrecord(
        raw / "wikiweb2m-b.tfrecord.gz",
        [make_page("B0", split="val", sections=one_image), make_page("B1", split="test", sections=one_image)],
    )
    save_png(raw / "images" / "4_0_0.png")  # page 4 = second record of the second shard
    dataset = load_wikiweb2m(raw, cache_dir=tmp_path / "cache")
    assert {split: ds["page_title"] for split, ds in dataset.items()} == {
        "train": ["A0", "A1", "A2"],
        "validation": ["B0"],
        "test": ["B1"],
    }
    assert dataset["test"][0]["page_id"] == 4
    assert dataset["test"][0]["graph"]["images"][-1].endswith("4_0_0.png")
    # 3_0_0.png was not downloaded and has no caption: the image node is dropped
    assert dataset["validation"][0]["graph"]["node_ids"] == ["page", "section/0"]


def test_sample_pages_is_seeded_uniform_and_keeps_release_splits(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    splits = ["train", "val", "test"] * 4
    pages = [
        make_page(f"P{i}", split=s, sections=[{"title": "S", "rest": "R."}]) for i, s in enumerate(splits)
    ]
    write_tfrecord(raw / "wikiweb2m-0.tfrecord.gz", pages[:5])
    write_tfrecord(raw / "wikiweb2m-1.tfrecord.gz", pages[5:])

    def sampled(seed, cache):
        dataset = load_wikiweb2m(raw, sample_pages=5, seed=seed, cache_dir=tmp_path / cache)
        return {split: list(ds["page_id"]) for split, ds in dataset.items()}

    first, again, other = sampled(0, "c0"), sampled(0, "c1"), sampled(1, "c2")
    assert first == again
    chosen = sorted(np.random.default_rng(0).choice(12, size=5, replace=False).tolist())
    assert sorted(sum(first.values(), [])) == chosen
    assert first != other
    names = {"train": "train", "validation": "val", "test": "test"}
    for split, page_ids in first.items():
        assert all(splits[page] == names[split] for page in page_ids)
    with pytest.raises(ValueError, match="sample_pages=13 but the shards hold only 12 pages"):
        load_wikiweb2m(raw, sample_pages=13, cache_dir=tmp_path / "c3")


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (
            make_page("P", split="dev"),
            r"wikiweb2m-x\.tfrecord\.gz, record 1: context feature 'split' is 'dev'",
        ),
        (
            make_page("P", sections=[{"title": "A", "parent": 1}, {"title": "B"}]),
            r"wikiweb2m-x\.tfrecord\.gz, record 1: section 0 \('A'\) has section_parent_index 1",
        ),
        (b"\x0a\x30garbage", r"wikiweb2m-x\.tfrecord\.gz, record 1: not a valid SequenceExample"),
        (
            encode_sequence_example(
                {"split": ["train"]}, {"section_title": [["A"], ["B"]], "section_text": [["a"]]}
            ),
            r"record 1: sequence feature 'section_text' has 1 entries but 'section_title' has 2",
        ),
    ],
    ids=["unknown-split", "parent-not-earlier", "not-protobuf", "ragged-sequence"],
)
def test_bad_records_name_file_and_record(tmp_path, page, message):
    raw = tmp_path / "raw"
    raw.mkdir()
    write_tfrecord(raw / "wikiweb2m-x.tfrecord.gz", [make_page("OK", sections=[{"title": "S"}]), page])
    with pytest.raises(ValueError, match=message):
        load_wikiweb2m(raw, cache_dir=tmp_path / "cache")


def test_truncated_shard_fails_the_build_naming_file_and_record(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shard = raw / "wikiweb2m-x.tfrecord"
    write_tfrecord(shard, [make_page(f"P{i}", sections=[{"title": "S"}]) for i in range(3)], compression=None)
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"wikiweb2m-x\.tfrecord: record 2 is truncated"):
        load_wikiweb2m(raw, cache_dir=tmp_path / "cache")


def test_image_file_names_follow_the_published_pipeline():
    url = "https://upload.wikimedia.org/wikipedia/commons/a/ab/Old_Bridge.JPG"
    assert image_file_name(3, 1, 2, url) == "3_1_2.JPG"  # extension as in the URL, case kept
    assert image_file_name(0, 0, 0, "https://x.org/no-extension", "image/jpeg") == "0_0_0.jpg"


def test_newly_downloaded_images_invalidate_the_cache(hand_checked, tmp_path):
    cache = tmp_path / "cache"
    assert load_wikiweb2m(hand_checked, cache_dir=cache)["train"][0]["graph"]["images"][7] is None
    save_png(hand_checked / "images" / "0_1_2.png")  # b.png arrives later
    assert load_wikiweb2m(hand_checked, cache_dir=cache)["train"][0]["graph"]["images"][7].endswith(
        "0_1_2.png"
    )


def test_missing_raw_dir_or_shards_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_wikiweb2m(tmp_path / "nope")
    with pytest.raises(ValueError, match=r"no WikiWeb2M shards matching 'wikiweb2m-\*\.tfrecord\*'"):
        load_wikiweb2m(tmp_path)


def test_bundled_sample_is_reproducible_and_loads(tmp_path):
    counts = write_wikiweb2m_sample(tmp_path / "regen")
    assert counts == {"pages": 9, "samples": 32, "images": 23}
    committed = sorted(p.relative_to(SAMPLE) for p in SAMPLE.rglob("*") if p.is_file())
    regenerated = sorted(
        p.relative_to(tmp_path / "regen") for p in (tmp_path / "regen").rglob("*") if p.is_file()
    )
    assert committed == regenerated
    # Compare content, not compressed bytes: zlib and libjpeg builds may encode differently.
    for path in committed:
        ours, theirs = SAMPLE / path, tmp_path / "regen" / path
        if ".tfrecord" in path.name:
            assert list(read_tfrecord(ours)) == list(read_tfrecord(theirs))
        else:
            a, b = (np.asarray(Image.open(f).convert("RGB"), dtype=float) for f in (ours, theirs))
            assert a.shape == b.shape and np.abs(a - b).mean() < 2.0
    assert sum((SAMPLE / p).stat().st_size for p in committed) < 2 * 2**20

    dataset = load_wikiweb2m(SAMPLE, cache_dir=tmp_path / "cache")
    assert {split: len(ds) for split, ds in dataset.items()} == {"train": 21, "validation": 3, "test": 8}
    image_nodes = with_file = 0
    for row in dataset["train"]:
        graph = MultimodalGraph.from_dict(row["graph"])
        assert graph.node_ids[row["target_node"]] == f"section/{row['section_id']}"
        assert row["target_text"] and row["target_text"] not in graph.texts[row["target_node"]]
        image_nodes += int(graph.has_image.sum())
        with_file += sum(os.path.isfile(p) for p in graph.images if p is not None)
    assert image_nodes == with_file > 0


def test_build_script_writes_parquet_and_card_and_pushes(tmp_path, monkeypatch, load_dataset_script):
    import yaml
    from huggingface_hub import HfApi

    pushed, uploaded = [], []
    monkeypatch.setattr(
        datasets.DatasetDict, "push_to_hub", lambda self, repo, **kw: pushed.append((repo, self))
    )
    monkeypatch.setattr(HfApi, "upload_file", lambda self, **kw: uploaded.append(kw))
    out = tmp_path / "out"
    script = load_dataset_script("wikiweb2m")
    argv = ["--raw-dir", str(SAMPLE), "--output-dir", str(out), "--cache-dir", str(tmp_path / "cache")]
    assert script.main([*argv, "--push-to-hub", "org/wikiweb2m-graphs"]) == 0  # "build" is the default

    reloaded = datasets.load_dataset("parquet", data_dir=str(out / "data"), cache_dir=str(tmp_path / "pq"))
    assert {split: len(ds) for split, ds in reloaded.items()} == {"train": 21, "validation": 3, "test": 8}
    original = load_wikiweb2m(SAMPLE, cache_dir=tmp_path / "cache")
    assert reloaded["test"][0] == original["test"][0]

    card = (out / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["license"] == "cc-by-sa-3.0" and "summarization" in header["task_categories"]
    splits = header["dataset_info"]["splits"]
    assert [{k: v for k, v in entry.items() if k != "num_bytes"} for entry in splits] == [
        {"name": "train", "num_examples": 21},
        {"name": "validation", "num_examples": 3},
        {"name": "test", "num_examples": 8},
    ]
    # datasets takes a split entry without num_bytes for a malformed card (and warns on every load)
    assert all(isinstance(entry["num_bytes"], int) and entry["num_bytes"] > 0 for entry in splits)
    assert [p[0] for p in pushed] == ["org/wikiweb2m-graphs"]
    assert uploaded[0]["path_in_repo"] == "README.md" and uploaded[0]["repo_id"] == "org/wikiweb2m-graphs"
    assert uploaded[0]["repo_type"] == "dataset"


def test_num_proc_gives_the_same_rows(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for shard in range(3):
        pages = [make_page(f"P{shard}{i}", sections=[{"title": "S"}, {"title": "T"}]) for i in range(2)]
        write_tfrecord(raw / f"wikiweb2m-train.tfrecord.gz-0000{shard}-of-00003", pages)
    serial = load_wikiweb2m(raw, cache_dir=tmp_path / "c1")["train"]
    parallel = load_wikiweb2m(raw, num_proc=2, cache_dir=tmp_path / "c2")["train"]
    assert sorted(serial["id"]) == sorted(parallel["id"]) and len(serial) == 12
    assert sorted(map(str, serial)) == sorted(map(str, parallel))
