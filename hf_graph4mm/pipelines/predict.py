"""``hf-graph4mm predict``: stream a checkpoint's predictions over a dataset into a JSONL file.

    hf-graph4mm predict --model ckpt/ --dataset test.jsonl --output preds.jsonl --batch_size 8

- the dataset is any layout ``train`` and ``evaluate`` read (one loader, :mod:`hf_graph4mm.data.layouts`:
  files, ``save_to_disk`` folders, our release folders, Ele-Fashion's shared graph, your own features),
  memory-mapped, or a Hub dataset streamed; only one batch is held in memory;
- one JSON line per row: ``{"id": ..., <the pipeline's output>}``, flushed and fsynced per batch;
- resumable: ids already in the output file are skipped and new lines are appended; a last line
  cut off by an interruption is dropped and its row predicted again.

Rows: Graph4MM tasks read ``graph`` (``MultimodalGraph.to_dict()``), ``target_node`` (or
``target``) and an optional ``prompt`` (the graph may be stored as JSON text); sentiment reads ``text`` (string or features), ``audio``,
``vision`` (``*_features`` names too) and trims them to ``*_lengths`` when present.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

TASK_OF_MODEL_TYPE = {"graph4mm": "graph-text-generation", "gsit": "multimodal-sentiment-analysis"}
GRAPH_TASKS = ("graph-text-generation", "zero-shot-node-classification")


# ---------------------------------------------------------------- the output file
def completed_ids(output: Path, id_column: str = "id") -> set:
    """Ids already written to ``output``; a partial last line (an interrupted write) is cut off.

    Raises:
        ValueError: a complete line that is not JSON or has no id (the file is not ours to append to).
    """
    if not output.exists():
        return set()
    done = set()
    good_end = 0
    with open(output, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):  # written only partly when the run stopped
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"{output} line {number} is not JSON ({error}); refusing to append to it"
                ) from error
            if not isinstance(record, dict) or id_column not in record:
                raise ValueError(f"{output} line {number} has no {id_column!r}; refusing to append to it")
            done.add(_hashable(record[id_column]))
            good_end += len(line)
    if good_end != output.stat().st_size:
        with open(output, "r+b") as handle:
            handle.truncate(good_end)
    return done


def _hashable(value):
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


# ---------------------------------------------------------------- rows -> pipeline inputs
def graph_input(row: dict, shared_graph=None) -> dict:
    """``graph`` is a graph dict or that dict as JSON text (a column type every format can store); rows of a
    shared-graph layout (Ele-Fashion: ``graph/graph.parquet``) have none and use ``shared_graph``."""
    graph = row.get("graph")
    if graph is None:
        graph = shared_graph
    if graph is None:
        raise ValueError(
            f"row {row.get('id', '?')!r} has no 'graph' column and the dataset has no shared graph "
            f"(graph/graph.parquet); columns: {sorted(row)}"
        )
    if isinstance(graph, str):
        try:
            graph = json.loads(graph)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"row {row.get('id', '?')!r}: the graph column is text but not JSON ({error})"
            ) from error
    target = row.get("target_node", row.get("target"))
    if target is None:
        raise ValueError(f"row {row.get('id', '?')!r} has no 'target_node' (or 'target') column")
    return {"graph": graph, "target": int(target), "prompt": row.get("prompt")}


def sentiment_input(row: dict, config=None) -> dict:
    """A sentiment row -> the pipeline's input, cut to ``*_lengths``; with the model's ``config``, each sequence
    is checked here as the collator checks it, so an error names the row's id and the field."""
    from ..processing.sentiment import check_sequence

    item = {}
    where = f"row {row.get('id', '?')!r}"
    for modality in ("text", "audio", "vision"):
        value = row.get(modality, row.get(f"{modality}_features"))
        if value is None:
            raise ValueError(f"{where} has no {modality!r} (or {modality}_features) column")
        length = row.get(f"{modality}_lengths", row.get(f"{modality}_length"))
        if isinstance(value, str):
            item[modality] = value
            continue
        if config is not None and not (modality == "text" and getattr(config, "text_encoder_config", None)):
            value = check_sequence(
                value,
                where=where,
                field=f"{modality}_features",
                dim=getattr(config, f"{modality}_dim", None),
                min_length=getattr(config, f"{modality}_kernel_size", 1),
                length=length,
            )
        elif length is not None:
            value = value[: int(length)]
        item[modality] = value
    return item


def to_pipeline_input(task: str, shared_graph=None, config=None) -> Callable[[dict], dict]:
    """The row -> pipeline input mapping of ``task`` (graph rows without a graph use ``shared_graph``; sentiment
    rows are checked against the model's ``config`` when given)."""
    if task in GRAPH_TASKS:
        return lambda row: graph_input(row, shared_graph)
    return lambda row: sentiment_input(row, config)


# ---------------------------------------------------------------- the loop
def batched(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """Lists of ``size`` rows (the last may be shorter), pulling rows only as each list fills."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_predictions(
    predictor: Callable[[list[dict]], list],
    rows: Iterable[dict],
    output: str | os.PathLike,
    to_input: Callable[[dict], dict],
    batch_size: int = 8,
    id_column: str = "id",
    total: int | None = None,
    on_batch_written: Callable[[int], None] | None = None,
) -> int:
    """Predict every row whose id is not yet in ``output``; returns how many were written.

    Args:
        predictor: list of pipeline inputs -> list of outputs (a pipeline, called with the batch).
        rows: dataset rows, read lazily.
        to_input: row -> pipeline input.
        on_batch_written: called with the running count after each batch is flushed (progress hooks).

    Raises:
        ValueError: a row without ``id_column``, or an id that appears twice in the dataset.
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    done = completed_ids(output, id_column)
    seen_now: set = set()
    written = 0

    def pending() -> Iterator[dict]:
        for row in rows:
            if id_column not in row:
                raise ValueError(
                    f"a dataset row has no {id_column!r} column (columns: {sorted(row)}); use --id-column"
                )
            key = _hashable(row[id_column])
            if key in seen_now:
                raise ValueError(
                    f"id {row[id_column]!r} appears twice in the dataset; ids must be unique to resume"
                )
            seen_now.add(key)
            if key in done:
                progress.update(1)
                continue
            yield row

    with (
        tqdm(total=total, desc="predict", unit="row") as progress,
        open(output, "a", encoding="utf-8") as out,
    ):
        for batch in batched(pending(), batch_size):
            predictions = predictor([to_input(row) for row in batch])
            if len(predictions) != len(batch):
                raise RuntimeError(f"the predictor returned {len(predictions)} outputs for {len(batch)} rows")
            for row, prediction in zip(batch, predictions):
                record = {id_column: row[id_column]}
                record.update(prediction if isinstance(prediction, dict) else {"predictions": prediction})
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
            written += len(batch)
            progress.update(len(batch))
            if on_batch_written is not None:
                on_batch_written(written)
    return written


# ---------------------------------------------------------------- loading
def open_source(name: str, split: str, family: str | None = None, raw_dir: str | None = None):
    """(rows, their count or None, shared graph or None) of ``name``: every layout train and evaluate read
    (:func:`hf_graph4mm.data.layouts.open_dataset`, memory-mapped), or a Hub dataset streamed."""
    from ..data.layouts import GRAPH_NAMES, SENTIMENT_NAMES, open_dataset
    from ..data.references import resolve_reference

    named = name in (GRAPH_NAMES if family == "graph4mm" else SENTIMENT_NAMES if family == "gsit" else ())
    if not named and resolve_reference(name, what="--dataset", repo_type="dataset") == "hub":
        import datasets

        return datasets.load_dataset(name, split=split, streaming=True), None, None
    source = open_dataset(name, family=family, raw_dir=raw_dir)
    rows = source.split(split)
    return rows, len(rows), source.shared_graph


def open_dataset(name: str, split: str, family: str | None = None):
    """(rows, count or None) of ``name`` (see :func:`open_source`)."""
    rows, total, _ = open_source(name, split, family)
    return rows, total


def build_pipeline(model_path: str, task: str | None, device: str | None):
    """A pipeline on a safely loaded checkpoint (see ``hf_graph4mm.hub.safe_loading``)."""
    from transformers import AutoTokenizer, pipeline

    from ..hub.safe_loading import check_processor_files, load_checkpoint, read_config, resolve_checkpoint
    from . import TASKS

    folder = resolve_checkpoint(model_path)
    model_type = read_config(folder).get("model_type")
    if model_type not in TASK_OF_MODEL_TYPE:
        raise ValueError(
            f"{folder}/config.json has model_type {model_type!r}; predict knows {sorted(TASK_OF_MODEL_TYPE)}"
        )
    task = task or TASK_OF_MODEL_TYPE[model_type]
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {sorted(TASKS)}")
    _, model_class = TASKS[task]
    model = load_checkpoint(folder, model_class, expected_model_type=model_class.config_class.model_type)
    kwargs = {}
    if task in GRAPH_TASKS:
        from ..processing import Graph4MMProcessor

        check_processor_files(folder)
        kwargs["processor"] = Graph4MMProcessor.from_pretrained(folder)
    elif (folder / "tokenizer_config.json").is_file():
        kwargs["tokenizer"] = AutoTokenizer.from_pretrained(folder)
    return pipeline(task, model=model.eval(), device=device, **kwargs), task


def parse_args(argv: list[str]) -> argparse.Namespace:
    from ..training.command_line import parse_with, predict_parser

    parser = predict_parser()
    args = parse_with(parser, argv)
    if args.batch_size < 1:
        parser.error(f"--batch_size must be >= 1, got {args.batch_size}")
    if args.candidate_labels and args.task is None:
        args.task = "zero-shot-node-classification"
    return args


def main(argv: list[str] | None = None) -> int:
    from ..data.references import resolve_reference

    args = parse_args(list(argv or []))
    resolve_reference(args.model, what="--model")  # a missing folder is an error here, never a Hub lookup
    pipe, task = build_pipeline(args.model, args.task, args.device)
    call_kwargs: dict[str, Any] = {"batch_size": args.batch_size}
    if task == "graph-text-generation":
        call_kwargs.update(max_new_tokens=args.max_new_tokens, num_beams=args.num_beams)
    elif task == "zero-shot-node-classification":
        if not args.candidate_labels:
            raise ValueError("zero-shot-node-classification needs --candidate-labels a,b,c")
        call_kwargs["candidate_labels"] = args.candidate_labels

    def predictor(inputs: list[dict]) -> list:
        outputs = pipe(inputs, **call_kwargs)
        # generation returns one list of candidates per input: keep the first (the only one here)
        return [output[0] if isinstance(output, list) else output for output in outputs]

    family = "gsit" if task == "multimodal-sentiment-analysis" else "graph4mm"
    rows, total, shared_graph = open_source(args.dataset, args.split, family, args.raw_dir)
    written = run_predictions(
        predictor,
        rows,
        args.output,
        to_pipeline_input(task, shared_graph, pipe.model.config),
        args.batch_size,
        args.id_column,
        total,
    )
    print(f"wrote {written} predictions to {args.output}")
    return 0
