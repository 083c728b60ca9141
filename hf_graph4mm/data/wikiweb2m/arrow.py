"""One shard of WikiWeb2M -> Arrow files of section-summarisation examples, one per split, in one pass.

Examples are built as columns, not as per-example dicts for ``datasets`` to encode: each
page's graph becomes one struct value, repeated for the page's examples with an Arrow
``take``. Rows go out in batches of :data:`BATCH_EXAMPLES`, so a worker's memory is bounded
by a batch, whatever the shard's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import datasets
import pyarrow as pa
from datasets.arrow_writer import ArrowWriter, ParquetWriter

from .graph import ImageStats, page_graph_dict, summarization_row, summarization_targets
from .pages import Page, parse_page
from .shards import ShardTask, check_page_split
from .tfrecord import read_tfrecord

BATCH_EXAMPLES = 1000  # rows per written batch, as datasets' default writer batch


@dataclass
class SplitFile:
    path: str
    num_examples: int
    num_bytes: int


@dataclass
class ShardResult:
    index: int
    num_pages: int  # records in the shard (sampled out or not): numbers the next shard's pages
    files: dict[str, SplitFile] = field(default_factory=dict)  # datasets split -> its file
    stats: ImageStats = field(default_factory=ImageStats)


class _SplitBatch:
    """Columns of the examples of one split, waiting to be written."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.rows: dict[str, list] = {name: [] for name in self.schema.names if name != "graph"}
        self.graphs: list[dict] = []
        self.graph_of_row: list[int] = []

    def __len__(self) -> int:
        return len(self.graph_of_row)

    def add(self, page: Page, graph: dict, rows: list[dict]) -> None:
        self.graphs.append(graph)
        self.graph_of_row.extend([len(self.graphs) - 1] * len(rows))
        for row in rows:
            for name, values in self.rows.items():
                values.append(row[name])

    def table(self) -> pa.Table:
        graph_type = self.schema.field("graph").type
        graphs = pa.array(self.graphs, type=graph_type).take(pa.array(self.graph_of_row, pa.int32()))
        columns = [
            graphs if name == "graph" else pa.array(self.rows[name], type=self.schema.field(name).type)
            for name in self.schema.names
        ]
        return pa.Table.from_arrays(columns, schema=self.schema)


def write_shard(
    task: ShardTask,
    *,
    images_dir: str | None,
    features: datasets.Features,
    path_template: str,
    file_format: str = "arrow",
) -> ShardResult:
    """Build one shard's examples into ``path_template.format(split=..., shard=task.index)``.

    Raises:
        ValueError: naming the file and record of the first bad record (see :func:`parse_page`).
    """
    if task.first_page is None:
        raise ValueError(f"{task.path}: the shard's first page number is not known")
    keep = frozenset(task.keep) if task.keep is not None else None
    writer_class = ParquetWriter if file_format == "parquet" else ArrowWriter
    result = ShardResult(task.index, 0)
    writers: dict[str, ArrowWriter] = {}
    batches: dict[str, _SplitBatch] = {}
    schema = features.arrow_schema  # computed, not stored, by datasets: once per shard

    def flush(split: str) -> None:
        if split not in writers:
            path = path_template.format(split=split, shard=task.index)
            writers[split] = writer_class(features=features, path=path, embed_local_files=False)
            result.files[split] = SplitFile(path, 0, 0)
        writers[split].write_table(batches[split].table())
        batches[split] = _SplitBatch(schema)

    try:
        for record, data in enumerate(read_tfrecord(task.path)):
            result.num_pages += 1
            number = task.first_page + record
            if keep is not None and number not in keep:
                continue
            page = parse_page(data, number, f"{task.path}, record {record}")
            check_page_split(page.split, task.path, record)
            targets = summarization_targets(page)
            if not targets:
                continue
            graph = page_graph_dict(page, images_dir, result.stats)
            if page.split not in batches:
                batches[page.split] = _SplitBatch(schema)
            batch = batches[page.split]
            batch.add(page, graph, [summarization_row(page, section) for section in targets])
            if len(batch) >= BATCH_EXAMPLES:
                flush(page.split)
        for split, batch in list(batches.items()):
            if len(batch):
                flush(split)
    finally:
        for split, writer in writers.items():
            result.files[split].num_examples, result.files[split].num_bytes = writer.finalize()
    return result
