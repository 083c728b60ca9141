"""WikiWeb2M section summarisation as a ``datasets`` builder over the release's TFRecord shards.

One example per section-summarisation sample: the page's multimodal graph (see
:mod:`.wikiweb2m_graph`), the target node (that section) and the target text (its first
sentence). Usage::

    ds = load_wikiweb2m("raw/wikiweb2m", images_dir="raw/images")           # release splits
    ds = load_wikiweb2m("raw/wikiweb2m", sample_pages=10_000, seed=0)        # the paper's subset
    graph = MultimodalGraph.from_dict(ds["train"][0]["graph"])

Memory stays flat in the number of shards: shards are streamed record by record, and the
only whole-corpus state is one small :class:`ShardInfo` per shard (plus the sampled page
numbers with ``sample_pages``). Shards are generated in parallel with ``num_proc``.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import datasets
import numpy as np

from .graph_features import graph_feature
from .image_download import DownloadJob
from .tfrecord import read_tfrecord
from .wikiweb2m_graph import ImageStats, summarization_examples
from .wikiweb2m_pages import SHARD_PATTERN, find_shards, image_file_name, iter_pages, read_split
from .wikiweb2m_sample import write_wikiweb2m_sample

__all__ = [
    "FEATURES",
    "WikiWeb2MBuilder",
    "WikiWeb2MConfig",
    "load_wikiweb2m",
    "wikiweb2m_image_jobs",
    "write_wikiweb2m_sample",
]

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


@dataclass
class ShardInfo:
    path: str
    first_page: int  # number of the shard's first page across all shards
    num_pages: int
    splits: Counter  # datasets split name -> pages of that split in the shard


def scan_shards(paths: list[str]) -> list[ShardInfo]:
    """Count pages (and their splits) per shard, verifying CRCs; decodes only each page's context."""
    infos, first_page = [], 0
    for path in paths:
        splits: Counter = Counter()
        for record, data in enumerate(read_tfrecord(path)):
            splits[read_split(data, f"{path}, record {record}")] += 1
        num_pages = sum(splits.values())
        infos.append(ShardInfo(path, first_page, num_pages, splits))
        first_page += num_pages
    return infos


def sample_page_numbers(total: int, sample_pages: int | None, seed: int) -> np.ndarray | None:
    """Sorted page numbers of a uniform sample without replacement (None = keep all pages)."""
    if sample_pages is None:
        return None
    if sample_pages <= 0:
        raise ValueError(f"sample_pages must be positive, got {sample_pages}")
    if sample_pages > total:
        raise ValueError(f"sample_pages={sample_pages} but the shards hold only {total} pages")
    return np.sort(np.random.default_rng(seed).choice(total, size=sample_pages, replace=False))


class WikiWeb2MBuilder(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = WikiWeb2MConfig
    VERSION = datasets.Version("1.0.0")

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=FEATURES,
            homepage="https://github.com/google-research-datasets/wit/blob/main/wikiweb2m.md",
            license="cc-by-sa-3.0",
        )

    def _split_generators(self, dl_manager):
        if not self.config.data_dir:
            raise ValueError(
                "WikiWeb2MBuilder needs data_dir= (the folder holding the wikiweb2m-*.tfrecord* shards)"
            )
        infos = scan_shards(find_shards(self.config.data_dir, self.config.shard_pattern))
        total = sum(info.num_pages for info in infos)
        sampled = sample_page_numbers(total, self.config.sample_pages, self.config.seed)
        images_dir = self.config.images_dir
        if images_dir is not None and not os.path.isdir(images_dir):
            logger.warning(
                "images folder %s does not exist: every image becomes a caption-only node", images_dir
            )
        generators = []
        for split in ("train", "validation", "test"):
            tasks = []
            for info in infos:
                if not info.splits[split]:
                    continue
                keep = None
                if sampled is not None:
                    lo, hi = np.searchsorted(sampled, [info.first_page, info.first_page + info.num_pages])
                    if lo == hi:
                        continue
                    keep = sampled[lo:hi].tolist()
                tasks.append({"path": info.path, "first_page": info.first_page, "keep": keep})
            if tasks:
                generators.append(
                    datasets.SplitGenerator(
                        name=split, gen_kwargs={"tasks": tasks, "split": split, "images_dir": images_dir}
                    )
                )
        return generators

    def _generate_examples(self, tasks: list[dict], split: str, images_dir: str | None):
        stats = ImageStats()
        for task in tasks:
            keep = frozenset(task["keep"]) if task["keep"] is not None else None
            for page in iter_pages(task["path"], task["first_page"], keep):
                if page.split == split:
                    yield from summarization_examples(page, images_dir, stats)
        shards = ", ".join(os.path.basename(task["path"]) for task in tasks)
        log = logger.warning if stats.caption_only or stats.dropped else logger.info
        log("WikiWeb2M %s (%s): %s", split, shards, stats.summary())


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
    infos = scan_shards(find_shards(raw_dir))
    sampled = sample_page_numbers(sum(i.num_pages for i in infos), sample_pages, seed)
    keep = frozenset(sampled.tolist()) if sampled is not None else None
    for info in infos:
        for page in iter_pages(info.path, info.first_page, keep):
            for section in page.sections:
                for image in section.images:
                    name = image_file_name(
                        page.number, section.position, image.slot, image.url, image.mime_type
                    )
                    yield DownloadJob(image.url, os.path.join(str(images_dir), name))
