"""hf-graph4mm predict: streamed JSONL predictions equal the pipeline's, resume without duplicates."""

from __future__ import annotations

import json

import pytest
from transformers import pipeline

from hf_graph4mm.cli import main as cli_main
from hf_graph4mm.pipelines import predict
from hf_graph4mm.testing import sample_graph, sentiment_inputs, tiny_graph4mm, tiny_gsit

NUM_ROWS = 7


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def sentiment_case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gsit")
    model = tiny_gsit()
    model.save_pretrained(folder / "model")
    items = sentiment_inputs(NUM_ROWS, seed=7)
    rows = [{"id": f"u{i}", **{m: v.tolist() for m, v in item.items()}} for i, item in enumerate(items)]
    write_jsonl(folder / "data.jsonl", rows)
    analyzer = pipeline("multimodal-sentiment-analysis", model=model)
    expected = {row["id"]: analyzer(item) for row, item in zip(rows, items)}
    return folder, expected


def test_predict_writes_one_line_per_row_equal_to_the_pipeline(sentiment_case, tmp_path):
    folder, expected = sentiment_case
    output = tmp_path / "preds.jsonl"
    argv = ["predict", "--model", str(folder / "model"), "--dataset", str(folder / "data.jsonl")]
    assert cli_main([*argv, "--output", str(output), "--batch-size", "3", "--device", "cpu"]) == 0
    records = read_jsonl(output)
    assert [r["id"] for r in records] == [f"u{i}" for i in range(NUM_ROWS)]
    for record in records:
        assert record["score"] == pytest.approx(expected[record["id"]]["score"], abs=1e-5)
        assert record["label"] == expected[record["id"]]["label"]


def test_interrupted_run_resumes_without_duplicates(sentiment_case, tmp_path):
    folder, expected = sentiment_case
    output = tmp_path / "preds.jsonl"
    pipe, task = predict.build_pipeline(str(folder / "model"), None, "cpu")
    rows, _ = predict.open_dataset(str(folder / "data.jsonl"), "test")

    def stop_after_two_batches(written):
        if written >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        predict.run_predictions(
            lambda inputs: pipe(inputs, batch_size=2),
            rows,
            output,
            predict.to_pipeline_input(task),
            2,
            on_batch_written=stop_after_two_batches,
        )
    assert [r["id"] for r in read_jsonl(output)] == ["u0", "u1", "u2", "u3"]
    # an interruption in the middle of a write leaves a partial last line: it is dropped and redone
    with open(output, "a", encoding="utf-8") as handle:
        handle.write('{"id": "u4", "sco')
    argv = [
        "--model",
        str(folder / "model"),
        "--dataset",
        str(folder / "data.jsonl"),
        "--output",
        str(output),
    ]
    assert predict.main([*argv, "--batch-size", "2"]) == 0
    records = read_jsonl(output)
    assert [r["id"] for r in records] == [f"u{i}" for i in range(NUM_ROWS)]
    for record in records:
        assert record["score"] == pytest.approx(expected[record["id"]]["score"], abs=1e-5)
    # a finished file: nothing left to do, nothing appended
    assert predict.main(argv) == 0
    assert len(read_jsonl(output)) == NUM_ROWS


@pytest.fixture(scope="module")
def graph_case(tmp_path_factory):
    """A saved Graph4MM and a save_to_disk dataset whose graph column is JSON text."""
    import datasets

    folder = tmp_path_factory.mktemp("graph4mm")
    model, processor = tiny_graph4mm()
    model.save_pretrained(folder / "model")
    processor.save_pretrained(folder / "model")
    graph = sample_graph().to_dict()
    graph["images"] = [None] * len(graph["images"])  # JSON cannot hold the images: a text-only page
    graph["texts"][1] = graph["texts"][4] = "x"
    rows = [{"id": i, "graph": json.dumps(graph), "target_node": t} for i, t in enumerate((0, 2, 3))]
    datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)}).save_to_disk(str(folder / "data"))
    return folder, graph


def test_save_to_disk_dataset_and_graph_generation(graph_case, tmp_path):
    folder, graph = graph_case
    output = tmp_path / "preds.jsonl"
    argv = ["--model", str(folder / "model"), "--dataset", str(folder / "data"), "--output", str(output)]
    assert predict.main([*argv, "--max-new-tokens", "3", "--batch-size", "2"]) == 0
    model, processor = tiny_graph4mm()
    generator = pipeline("graph-text-generation", model=model, processor=processor)
    expected = [generator({"graph": graph, "target": t}, max_new_tokens=3)[0] for t in (0, 2, 3)]
    assert read_jsonl(output) == [{"id": i, **e} for i, e in enumerate(expected)]


def test_zero_shot_predictions(graph_case, tmp_path):
    folder, graph = graph_case
    output = tmp_path / "preds.jsonl"
    argv = ["--model", str(folder / "model"), "--dataset", str(folder / "data"), "--output", str(output)]
    assert predict.main([*argv, "--candidate-labels", "cat,dog,mat", "--batch-size", "3"]) == 0
    model, processor = tiny_graph4mm()
    classifier = pipeline("zero-shot-node-classification", model=model, processor=processor)
    for record, target in zip(read_jsonl(output), (0, 2, 3)):
        expected = classifier({"graph": graph, "target": target}, candidate_labels=["cat", "dog", "mat"])
        assert record["labels"] == expected["labels"] and record["target"] == target
        assert record["scores"] == pytest.approx(expected["scores"], abs=1e-6)


def test_bad_rows_and_output_files_are_clear_errors(sentiment_case, tmp_path):
    folder, _ = sentiment_case
    rows = [{"id": "a", "text": [[0.0] * 6], "audio": [[0.0] * 3], "vision": [[0.0] * 4]}] * 2
    write_jsonl(tmp_path / "dup.jsonl", rows)
    argv = ["--model", str(folder / "model"), "--output", str(tmp_path / "out.jsonl")]
    with pytest.raises(ValueError, match="appears twice"):
        predict.main([*argv, "--dataset", str(tmp_path / "dup.jsonl")])
    with pytest.raises(ValueError, match="no 'key' column"):
        predict.main([*argv, "--dataset", str(folder / "data.jsonl"), "--id-column", "key"])
    (tmp_path / "broken.jsonl").write_text("not json\n")
    with pytest.raises(ValueError, match="line 1 is not JSON"):
        predict.completed_ids(tmp_path / "broken.jsonl")


def test_rows_are_read_lazily_one_batch_ahead_at_most(tmp_path):
    pulled = []

    def rows():
        for index in range(10):
            pulled.append(index)
            yield {"id": index, "value": index}

    def predictor(inputs):
        # when a batch is predicted, only its own rows (plus none further) have been read
        assert len(pulled) == inputs[-1]["value"] + 1
        return [{"double": item["value"] * 2} for item in inputs]

    written = predict.run_predictions(
        predictor, rows(), tmp_path / "out.jsonl", lambda row: row, batch_size=4
    )
    assert written == 10
    assert read_jsonl(tmp_path / "out.jsonl") == [{"id": i, "double": 2 * i} for i in range(10)]


def test_a_bad_sentiment_row_is_named_by_its_id_and_field(sentiment_case, tmp_path):
    import datasets
    import numpy as np

    folder, _ = sentiment_case
    rows = [json.loads(line) for line in (folder / "data.jsonl").read_text().splitlines()]
    rows[3]["audio"][1][0] = float("nan")
    datasets.Dataset.from_list(rows).to_parquet(tmp_path / "bad.parquet")
    argv = [
        "--model",
        str(folder / "model"),
        "--dataset",
        str(tmp_path / "bad.parquet"),
        "--output",
        str(tmp_path / "p.jsonl"),
    ]
    with pytest.raises(
        ValueError, match=r"row 'u3': audio_features holds NaN or infinite values \(first at step 1\)"
    ):
        predict.main(argv)
    rows[3]["audio"][1][0] = 0.0
    rows[5]["vision"] = np.zeros(
        (1, len(rows[5]["vision"][0]))
    ).tolist()  # the tiny model's vision kernel is 3
    datasets.Dataset.from_list(rows).to_parquet(tmp_path / "short.parquet")
    argv[3] = str(tmp_path / "short.parquet")
    with pytest.raises(
        ValueError,
        match=r"row 'u5': vision_features has 1 time steps, fewer than the model's conv kernel \(3\)",
    ):
        predict.main(argv)
