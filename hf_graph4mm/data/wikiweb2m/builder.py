"""WikiWeb2M section summarisation as a ``datasets`` builder over the release's TFRecord shards.

One example per section-summarisation sample: the page's multimodal graph (see
:mod:`.graph`), the target node (that section) and the target text (its first
sentence). Usage::

    ds = load_wikiweb2m("raw/wikiweb2m", images_dir="raw/images")           # release splits
    ds = load_wikiweb2m("raw/wikiweb2m", sample_pages=10_000, seed=0)        # the paper's subset
    graph = MultimodalGraph.from_dict(ds["train"][0]["graph"])

Every split is built in one pass over the shards: each shard is read once, its pages decoded
once, and its examples streamed to one Arrow file per split (see :mod:`.arrow`).
Memory stays flat in the release's size: a worker holds one batch of rows; the only
whole-corpus state is a page count per shard (plus the sampled page numbers with
``sample_pages``). Shards are built in parallel with ``num_proc``; page numbers then need
each shard's page count first, read from the framing alone (no decoding).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import datasets
from datasets.naming import filenames_for_dataset_split

from ..features import graph_feature
from .arrow import ShardResult, write_shard
from .download import DownloadJob
from .graph import ImageStats
from .pages import SHARD_PATTERN, find_shards, image_file_name, iter_pages
from .shards import (
    ShardTask,
    check_shard_names,
    check_shard_start,
    count_pages,
    plan_shards,
)

logger = logging.getLogger(__name__)

_GRAPH = graph_feature("string")
FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "page_id": datasets.Value("int64"),
        "section_id": datasets.Value("int32"),
        "page_title": datasets.Value("string"),
        "page_url": datasets.Value("string"),
        "section_title": datasets.Value("string"),
        "target_node": datasets.Value("int32"),
        "target_text": datasets.Value("string"),
        "graph": _GRAPH,
    }
)

_DESCRIPTION = (
    "WikiWeb2M section summarisation (Burns et al. 2023) as multimodal graphs for Graph4MM: for each "
    "sample, the page graph (page, sections, images with captions), the target section node and its "
    "first sentence as the target text."
)


@dataclass
class WikiWeb2MConfig(datasets.BuilderConfig):
    """``data_dir``: folder of the release's shards; ``images_dir``: downloaded images
    (``{page}_{section}_{image}.{ext}``), None for text-only graphs; ``sample_pages``/``seed``:
    keep a uniform random subset of pages (each keeps its release split);
    ``raw_fingerprint``: see :func:`_fingerprint`."""

    images_dir: str | None = None
    sample_pages: int | None = None
    seed: int = 0
    shard_pattern: str = SHARD_PATTERN
    raw_fingerprint: str = ""


class WikiWeb2MBuilder(datasets.DatasetBuilder):
    """Builds all splits in one pass (``_download_and_prepare``), not split by split as
    ``GeneratorBasedBuilder`` would, which reads every shard once per split."""

    BUILDER_CONFIG_CLASS = WikiWeb2MConfig
    VERSION = datasets.Version("1.1.0")

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=FEATURES,
            homepage="https://github.com/google-research-datasets/wit/blob/main/wikiweb2m.md",
            license="cc-by-sa-3.0",
        )

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        if not self.config.data_dir:
            raise ValueError(
                "WikiWeb2MBuilder needs data_dir= (the folder holding the wikiweb2m-*.tfrecord* shards)"
            )
        file_format = prepare_split_kwargs.get("file_format", "arrow")
        num_proc = prepare_split_kwargs.get("num_proc") or 1
        paths = find_shards(self.config.data_dir, self.config.shard_pattern)
        check_shard_names(paths)
        for path in paths:  # fail before any work on what a glance at each file shows
            check_shard_start(path)
        images_dir = self.config.images_dir
        if images_dir is not None and not os.path.isdir(images_dir):
            logger.warning(
                "images folder %s does not exist: every image becomes a caption-only node", images_dir
            )
        template = os.path.join(
            self._output_dir, f"{self.dataset_name}-{{split}}-shard{{shard:05d}}.{file_format}"
        )
        build = partial(
            write_shard, images_dir=images_dir, features=self.info.features, path_template=template,
            file_format=file_format,
        )  # fmt: skip
        parallel = num_proc > 1 and len(paths) > 1
        if parallel:
            with multiprocessing.get_context().Pool(min(num_proc, len(paths))) as pool:
                counts = pool.map(count_pages, paths, chunksize=1)
                tasks = plan_shards(paths, counts, self.config.sample_pages, self.config.seed)
                results = list(pool.imap_unordered(build, tasks, chunksize=1))
        else:
            counts = [count_pages(path) for path in paths] if self.config.sample_pages is not None else None
            tasks = plan_shards(paths, counts, self.config.sample_pages, self.config.seed)
            results = _build_serially(tasks, build)
        self.info.splits = self._collect_splits(results, file_format)

    def _collect_splits(self, results: list[ShardResult], file_format: str) -> datasets.SplitDict:
        """Rename each split's files, in shard order, as ``datasets`` names a split's shards."""
        results = sorted(results, key=lambda result: result.index)
        stats = ImageStats()
        for result in results:
            stats.merge(result.stats)
        log = logger.warning if stats.caption_only or stats.dropped else logger.info
        log("WikiWeb2M (%d shards): %s", len(results), stats.summary())
        splits = datasets.SplitDict(dataset_name=self.dataset_name)
        for split in ("train", "validation", "test"):
            files = [r.files[split] for r in results if split in r.files and r.files[split].num_examples]
            for result in results:  # a split file with no rows (every page sampled out) is dropped
                if split in result.files and not result.files[split].num_examples:
                    os.remove(result.files[split].path)
            if not files:
                continue
            shard_lengths = [f.num_examples for f in files]
            names = filenames_for_dataset_split(
                self._output_dir, self.dataset_name, split, file_format, shard_lengths
            )
            for split_file, name in zip(files, names):
                os.replace(split_file.path, name)
            splits.add(
                datasets.SplitInfo(
                    name=split,
                    num_examples=sum(shard_lengths),
                    num_bytes=sum(f.num_bytes for f in files),
                    shard_lengths=shard_lengths if len(files) > 1 else None,
                    dataset_name=self.dataset_name,
                )
            )
        return splits

    def _split_generators(self, dl_manager):
        raise NotImplementedError("WikiWeb2MBuilder builds all splits in one pass; use download_and_prepare")

    def _prepare_split(self, split_generator, **kwargs):
        raise NotImplementedError("WikiWeb2MBuilder builds all splits in one pass; use download_and_prepare")

    def _get_examples_iterable_for_split(self, split_generator):
        raise NotImplementedError("WikiWeb2MBuilder does not stream; build it with download_and_prepare")


def _build_serially(tasks: list[ShardTask], build) -> list[ShardResult]:
    """Shards one after the other; without a count pass, each first page number is the running total."""
    results, next_page = [], 0
    for task in tasks:
        if task.first_page is None:
            task.first_page = next_page
        results.append(build(task))
        next_page = task.first_page + results[-1].num_pages
    return results


def _fingerprint(paths: list[str], images_dir: str | None) -> str:
    """Shard names, sizes and mtimes, and the images folder's mtime (it changes when files are
    added or removed), so new shards or newly downloaded images miss the cache."""
    stats = [(os.path.basename(p), os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in paths]
    if images_dir is not None and os.path.isdir(images_dir):
        stats.append(("images", os.stat(images_dir).st_mtime_ns))
    return datasets.fingerprint.Hasher.hash(stats)


def load_wikiweb2m(
    raw_dir: str | os.PathLike,
    images_dir: str | os.PathLike | None = "auto",
    *,
    sample_pages: int | None = None,
    seed: int = 0,
    num_proc: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> datasets.DatasetDict:
    """Build (or reuse from the cache) the section-summarisation dataset from the raw shards.

    Args:
        raw_dir: folder with the release's ``wikiweb2m-*.tfrecord*`` files.
        images_dir: downloaded images; ``"auto"`` = ``raw_dir/images`` if it exists; None = no images.
        sample_pages, seed: keep a seeded uniform subset of pages (the paper uses 10,000).
        num_proc: shards generated in parallel.
        cache_dir: the ``datasets`` cache (default: HF_DATASETS_CACHE).
    """
    raw_dir = os.path.abspath(raw_dir)
    if images_dir == "auto":
        candidate = os.path.join(raw_dir, "images")
        images_dir = candidate if os.path.isdir(candidate) else None
    images_dir = os.path.abspath(images_dir) if images_dir is not None else None
    builder = WikiWeb2MBuilder(
        cache_dir=str(cache_dir) if cache_dir is not None else None,
        data_dir=raw_dir,
        images_dir=images_dir,
        sample_pages=sample_pages,
        seed=seed,
        raw_fingerprint=_fingerprint(find_shards(raw_dir), images_dir),
    )
    try:
        builder.download_and_prepare(num_proc=num_proc)
    except datasets.exceptions.DatasetGenerationError as error:
        if isinstance(error.__cause__, ValueError):  # our message names the file and record: surface it
            raise error.__cause__ from None
        raise
    # A split can end up empty (a page sample that missed it, pages without samples): leave it out.
    return datasets.DatasetDict(
        {
            name: builder.as_dataset(split=name)
            for name, info in builder.info.splits.items()
            if info.num_examples
        }
    )


def wikiweb2m_image_jobs(
    raw_dir: str | os.PathLike,
    images_dir: str | os.PathLike,
    *,
    sample_pages: int | None = None,
    seed: int = 0,
) -> Iterator[DownloadJob]:
    """Stream every image URL of the shards (or of the sampled pages) with its destination
    ``images_dir/{page}_{section}_{image}.{ext}``.

    Page numbers match :func:`load_wikiweb2m` (same shard order, same sample for a seed).
    """
    paths = find_shards(raw_dir)
    counts = [count_pages(path) for path in paths] if sample_pages is not None else None
    next_page = 0
    for task in plan_shards(paths, counts, sample_pages, seed):
        first_page = next_page if task.first_page is None else task.first_page
        keep = frozenset(task.keep) if task.keep is not None else None
        for page in iter_pages(task.path, first_page, keep):
            for section in page.sections:
                for image in section.images:
                    name = image_file_name(
                        page.number, section.position, image.slot, image.url, image.mime_type
                    )
                    yield DownloadJob(image.url, os.path.join(str(images_dir), name))
            next_page = page.number + 1
