"""The release's shard files, checked before a build starts, and the plan that numbers their pages.

The release names its files ``wikiweb2m-{train,val,test}.tfrecord.gz``, with large splits in
parts ``...tfrecord.gz-00000-of-00005``. Files named that way are held to it: every part
present, and every page of the file in the split its name says. Other names matching the
shard pattern (a subset you cut yourself) are taken as they are, split by each page's field.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .pages import SPLIT_NAMES, parse_page
from .tfrecord import GZIP_MAGIC, count_tfrecord, read_tfrecord

RELEASE_FILE_NAME = re.compile(
    r"^(?P<stem>wikiweb2m-(?P<split>train|val|test)\.tfrecord(?P<gz>\.gz)?)(?:-(?P<part>\d{5})-of-(?P<parts>\d{5}))?$"
)


@dataclass
class ShardTask:
    """One shard's share of a build: its pages from ``first_page`` on, only ``keep`` if given."""

    index: int  # position in the sorted shard list
    path: str
    first_page: int | None  # None: not known yet (a serial build numbers as it goes)
    keep: list[int] | None = None  # sampled page numbers inside this shard


def release_split(path: str) -> str | None:
    """The datasets split a release-named file holds (None for other names)."""
    match = RELEASE_FILE_NAME.match(os.path.basename(path))
    return SPLIT_NAMES[match["split"]] if match else None


def check_shard_names(paths: list[str]) -> None:
    """Release-named parts must be complete: ``-00003-of-00005`` needs all five ``-0000k-of-00005``.

    Raises:
        ValueError: naming the missing parts, or parts that disagree on their count.
    """
    parts: dict[str, dict[int, int]] = defaultdict(dict)  # stem -> part -> count it claims
    for path in paths:
        match = RELEASE_FILE_NAME.match(os.path.basename(path))
        if match and match["part"] is not None:
            parts[os.path.join(os.path.dirname(path), match["stem"])][int(match["part"])] = int(
                match["parts"]
            )
    for stem, claimed in parts.items():
        counts = sorted(set(claimed.values()))
        if len(counts) > 1:
            raise ValueError(
                f"parts of {stem} disagree on how many there are ({' vs '.join(map(str, counts))}); "
                "expected every file named -NNNNN-of-MMMMM with the same MMMMM"
            )
        missing = sorted(set(range(counts[0])) - set(claimed))
        stray = sorted(part for part in claimed if part >= counts[0])
        if missing or stray:
            detail = (
                f"missing {', '.join(f'{stem}-{p:05d}-of-{counts[0]:05d}' for p in missing)}"
                if missing
                else ""
            )
            detail += (
                f"{'; ' if missing and stray else ''}part(s) {stray} beyond {counts[0]}" if stray else ""
            )
            raise ValueError(
                f"incomplete WikiWeb2M release: {detail} (found {len(claimed)} of {counts[0]} parts); "
                "download the missing files or move the partial set aside"
            )


def check_shard_start(path: str) -> None:
    """Cheap look at a shard before the build: GZIP if its name says so, and a first record
    that decodes as a page of the split its name says.

    Raises:
        ValueError: naming the file (and record 0) and what was expected.
    """
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if ".tfrecord.gz" in os.path.basename(path) and magic != GZIP_MAGIC:
        raise ValueError(
            f"{path}: expected a GZIP file (the name says .gz) but it starts with {magic.hex() or 'nothing'}, "
            f"not {GZIP_MAGIC.hex()}; a partial or decompressed download?"
        )
    for data in read_tfrecord(path):
        check_page_split(parse_page(data, 0, f"{path}, record 0").split, path, 0)
        return


def check_page_split(split: str, path: str, record: int) -> None:
    """A page in a release-named file must be of the file's split."""
    expected = release_split(path)
    if expected is not None and split != expected:
        raise ValueError(
            f"{path}, record {record}: page of split {split!r} in a file whose name says {expected!r}; "
            "the release keeps one split per file (rename the file if it is your own mix)"
        )


def sample_page_numbers(total: int, sample_pages: int | None, seed: int) -> np.ndarray | None:
    """Sorted page numbers of a uniform sample without replacement (None = keep all pages)."""
    if sample_pages is None:
        return None
    if sample_pages <= 0:
        raise ValueError(f"sample_pages must be positive, got {sample_pages}")
    if sample_pages > total:
        raise ValueError(f"sample_pages={sample_pages} but the shards hold only {total} pages")
    return np.sort(np.random.default_rng(seed).choice(total, size=sample_pages, replace=False))


def plan_shards(
    paths: list[str], counts: list[int] | None, sample_pages: int | None, seed: int
) -> list[ShardTask]:
    """One task per shard that has pages to build. ``counts`` (records per shard) fixes each
    shard's first page number; without it (serial, unsampled) numbers are found while building."""
    if counts is None:
        if sample_pages is not None:
            raise ValueError("sampling pages needs the page count of every shard")
        return [ShardTask(index, path, None) for index, path in enumerate(paths)]
    first_pages = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()
    sampled = sample_page_numbers(int(sum(counts)), sample_pages, seed)
    tasks = []
    for index, (path, first, count) in enumerate(zip(paths, first_pages, counts)):
        keep = None
        if sampled is not None:
            lo, hi = np.searchsorted(sampled, [first, first + count])
            if lo == hi:
                continue
            keep = sampled[lo:hi].tolist()
        tasks.append(ShardTask(index, path, first, keep))
    return tasks


def count_pages(path: str) -> int:
    """Pages (records) in a shard, from its framing alone."""
    return count_tfrecord(path)
