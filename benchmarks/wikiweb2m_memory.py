"""Peak memory of the WikiWeb2M build on 1 vs 8 synthetic shards: it should stay flat.

    python benchmarks/wikiweb2m_memory.py [--pages-per-shard 300] [--shards 1 8] [--num-proc 1]

Each build runs in a fresh subprocess (so peaks do not leak between runs) and reports
its peak resident set size (``ru_maxrss``), the RSS right after imports, and the time.
Shards are synthetic pages in the release's format: 8 sections of ~1 KB text, 2 images each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

CHILD = "--child"


def synthetic_page(number: int) -> bytes:
    from hf_graph4mm.data.wikiweb2m.pages import FEATURE_KINDS
    from hf_graph4mm.data.wikiweb2m.tfrecord import encode_sequence_example

    sentence = f"Page {number} talks about a topic at some length, with several clauses and words. "
    sections = 8
    lists = {
        "section_title": [[f"Section {s}"] for s in range(sections)],
        "section_index": [[s] for s in range(sections)],
        "section_parent_index": [[-1 if s % 3 == 0 else s - s % 3] for s in range(sections)],
        "section_clean_1st_sentence": [
            [f"Section {s} of page {number} begins here."] for s in range(sections)
        ],
        "section_rest_sentence": [[sentence * 12] for _ in range(sections)],
        "is_section_summarization_sample": [[1]] * sections,
        "section_image_url": [
            [f"https://example.org/{number}_{s}_{i}.jpg" for i in range(2)] for s in range(sections)
        ],
        "section_image_captions": [[f"Image {i} of section {s}" for i in range(2)] for s in range(sections)],
    }
    context = {"split": ["train"], "page_title": [f"Page {number}"], "clean_page_description": [sentence * 3]}
    return encode_sequence_example(context, lists, FEATURE_KINDS)


def write_shards(folder: str, shards: int, pages_per_shard: int) -> None:
    from hf_graph4mm.data.wikiweb2m.tfrecord import write_tfrecord

    for shard in range(shards):
        pages = (synthetic_page(shard * pages_per_shard + i) for i in range(pages_per_shard))
        write_tfrecord(
            os.path.join(folder, f"wikiweb2m-train.tfrecord.gz-{shard:05d}-of-{shards:05d}"), pages
        )


def child(raw_dir: str, cache_dir: str, num_proc: int | None) -> None:
    from hf_graph4mm.data.wikiweb2m import load_wikiweb2m

    after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    dataset = load_wikiweb2m(raw_dir, images_dir=None, num_proc=num_proc, cache_dir=cache_dir)
    seconds = time.perf_counter() - start
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(
        json.dumps(
            {"examples": len(dataset["train"]), "imports_kb": after_imports, "peak_kb": peak, "s": seconds}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages-per-shard", type=int, default=300)
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--num-proc", type=int, default=None)
    args = parser.parse_args()

    rows = []
    for shards in args.shards:
        with tempfile.TemporaryDirectory() as folder:
            raw, cache = os.path.join(folder, "raw"), os.path.join(folder, "cache")
            os.makedirs(raw)
            write_shards(raw, shards, args.pages_per_shard)
            shard_mb = sum(os.path.getsize(os.path.join(raw, f)) for f in os.listdir(raw)) / 2**20
            command = [sys.executable, __file__, CHILD, raw, cache, str(args.num_proc or 0)]
            result = subprocess.run(command, check=True, capture_output=True, text=True)
            stats = json.loads(result.stdout.strip().splitlines()[-1])
            rows.append((shards, shards * args.pages_per_shard, shard_mb, stats))

    print(
        f"{'shards':>6} {'pages':>6} {'gz MB':>6} {'examples':>8} {'RSS after imports MB':>21} {'peak RSS MB':>11} {'s':>6}"
    )
    for shards, pages, shard_mb, stats in rows:
        print(
            f"{shards:>6} {pages:>6} {shard_mb:>6.1f} {stats['examples']:>8} {stats['imports_kb'] / 1024:>21.0f} "
            f"{stats['peak_kb'] / 1024:>11.0f} {stats['s']:>6.1f}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == CHILD:
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]) or None)
    else:
        main()
