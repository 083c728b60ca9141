"""WikiWeb2M build throughput and peak memory: the one-pass build at num_proc 1/2/4 beside the old
split-by-split build, and the SequenceExample decode rate of our codec beside protobuf's upb.

    python benchmarks/wikiweb2m_ingest.py [--shards 8] [--pages-per-shard 2500] [--num-proc 1 2 4]
        [--old-rev d614e04]

Shards are the synthetic pages of ``wikiweb2m_memory.py`` (8 sections, 2 images each, all in
train). Each build runs in a fresh subprocess; its peak RSS is the larger of the child's own
and its workers' ``ru_maxrss``. The old build runs the package as of ``--old-rev``, unpacked
with ``git archive`` into a temporary folder. The decode rows time records already in memory
(no GZIP, no CRC): our ``parse_sequence_example`` and upb parsing into message classes built at
runtime from a descriptor (no protoc), both returning the same lists; best of 5 rounds,
alternated. Ratios are taken inside one run; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CHILD = "--child"


def run_build(raw: str, num_proc: int, pythonpath: str | None) -> dict:
    env = dict(os.environ, HF_DATASETS_DISABLE_PROGRESS_BARS="1")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath  # the old package shadows the installed one
    with tempfile.TemporaryDirectory() as cache:
        # wikiweb2m_memory's child: one build, then its peak RSS (own and workers') and time.
        command = [
            sys.executable,
            os.path.join(HERE, "wikiweb2m_memory.py"),
            CHILD,
            raw,
            cache,
            str(num_proc),
        ]
        result = subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=HERE)
    return json.loads(result.stdout.strip().splitlines()[-1])


def upb_sequence_example_class():
    """``tf.train.SequenceExample`` as a upb message class, from a descriptor built here."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="bench_example.proto", package="bench", syntax="proto3")

    def message(name, fields, map_value=None):
        proto = file.message_type.add(name=name)
        if map_value:  # map<string, map_value> as protobuf spells it: a nested entry type
            entry = proto.nested_type.add(name="Entry")
            entry.options.map_entry = True
            entry.field.add(name="key", number=1, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
            entry.field.add(
                name="value",
                number=2,
                type=field.TYPE_MESSAGE,
                label=field.LABEL_OPTIONAL,
                type_name=map_value,
            )
        for name_, number, type_, label, type_name, oneof in fields:
            added = proto.field.add(name=name_, number=number, type=type_, label=label)
            if type_name:
                added.type_name = type_name
            if oneof:
                if not proto.oneof_decl:
                    proto.oneof_decl.add(name="kind")
                added.oneof_index = 0

    rep, opt, msg = field.LABEL_REPEATED, field.LABEL_OPTIONAL, field.TYPE_MESSAGE
    message("BytesList", [("value", 1, field.TYPE_BYTES, rep, None, False)])
    message("FloatList", [("value", 1, field.TYPE_FLOAT, rep, None, False)])
    message("Int64List", [("value", 1, field.TYPE_INT64, rep, None, False)])
    message(
        "Feature",
        [
            ("bytes_list", 1, msg, opt, ".bench.BytesList", True),
            ("float_list", 2, msg, opt, ".bench.FloatList", True),
            ("int64_list", 3, msg, opt, ".bench.Int64List", True),
        ],
    )
    message("Features", [("feature", 1, msg, rep, ".bench.Features.Entry", False)], ".bench.Feature")
    message("FeatureList", [("feature", 1, msg, rep, ".bench.Feature", False)])
    message(
        "FeatureLists",
        [("feature_list", 1, msg, rep, ".bench.FeatureLists.Entry", False)],
        ".bench.FeatureList",
    )
    message(
        "SequenceExample",
        [
            ("context", 1, msg, opt, ".bench.Features", False),
            ("feature_lists", 2, msg, opt, ".bench.FeatureLists", False),
        ],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("bench.SequenceExample"))


def upb_parse(cls, data: bytes):
    """upb parse, then the same ``(context, feature_lists)`` lists as ``parse_sequence_example``."""

    def values(feature):
        kind = feature.WhichOneof("kind")
        return list(getattr(feature, kind).value) if kind else []

    example = cls.FromString(data)
    context = {name: values(f) for name, f in example.context.feature.items()}
    lists = {
        name: [values(f) for f in steps.feature] for name, steps in example.feature_lists.feature_list.items()
    }
    return context, lists


def decode_rates(raw: str, rounds: int = 5) -> dict[str, float]:
    from hf_graph4mm.data.wikiweb2m.tfrecord import parse_sequence_example, read_tfrecord

    records = [r for name in sorted(os.listdir(raw)) for r in read_tfrecord(os.path.join(raw, name))]
    decoders = {"ours": parse_sequence_example}
    try:
        cls = upb_sequence_example_class()
        decoders["upb"] = lambda data: upb_parse(cls, data)
        assert decoders["upb"](records[0]) == parse_sequence_example(records[0])
    except ImportError:
        print("protobuf is not installed: no upb row (pip install protobuf)")
    best = dict.fromkeys(decoders, 0.0)
    for _ in range(rounds):
        for name, decode in decoders.items():
            start = time.perf_counter()
            for data in records:
                decode(data)
            best[name] = max(best[name], len(records) / (time.perf_counter() - start))
    return best


def old_package(rev: str, folder: str) -> str:
    archive = subprocess.run(
        ["git", "-C", REPO, "archive", rev, "hf_graph4mm"], check=True, capture_output=True
    ).stdout
    os.makedirs(folder, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--pages-per-shard", type=int, default=2500)
    parser.add_argument("--num-proc", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--old-rev", default="d614e04", help="commit of the split-by-split build ('' to skip)"
    )
    args = parser.parse_args()
    sys.path.insert(0, HERE)
    from machine_state import machine_state
    from wikiweb2m_memory import write_shards

    pages = args.shards * args.pages_per_shard
    print(f"machine before: {machine_state()}  ({os.cpu_count()} cores)")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        raw = os.path.join(folder, "raw")
        os.makedirs(raw)
        write_shards(raw, args.shards, args.pages_per_shard)
        gz_mb = sum(os.path.getsize(os.path.join(raw, f)) for f in os.listdir(raw)) / 2**20
        if args.old_rev:
            old = old_package(args.old_rev, os.path.join(folder, "old"))
            rows.append((f"old build ({args.old_rev}), num_proc 1", run_build(raw, 1, old)))
        for num_proc in args.num_proc:
            rows.append((f"one-pass build, num_proc {num_proc}", run_build(raw, num_proc, None)))
        rates = decode_rates(raw)

    print(f"{args.shards} shards x {args.pages_per_shard} pages = {pages} pages, {gz_mb:.1f} MB gzip\n")
    base = pages / rows[0][1]["s"]
    print(
        f"| {'build':<34} | {'examples':>8} | {'s':>6} | {'pages/s':>7} | {'x first row':>11} | {'peak RSS MB':>11} | {'after imports MB':>16} |"
    )
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 8}|{'-' * 9}|{'-' * 13}|{'-' * 13}|{'-' * 18}|")
    for name, stats in rows:
        rate = pages / stats["s"]
        print(
            f"| {name:<34} | {stats['examples']:>8} | {stats['s']:>6.1f} | {rate:>7.0f} | {rate / base:>11.2f} | "
            f"{stats['peak_kb'] / 1024:>11.0f} | {stats['imports_kb'] / 1024:>16.0f} |"
        )
    print(f"\n| {'decode only (records in memory)':<34} | {'pages/s':>7} | {'x upb':>6} |")
    print(f"|{'-' * 36}|{'-' * 9}|{'-' * 8}|")
    for name, rate in rates.items():
        ratio = f"{rate / rates['upb']:.2f}" if "upb" in rates else "n/a"
        label = "ours (hf_graph4mm tfrecord)" if name == "ours" else "protobuf upb (runtime descriptor)"
        print(f"| {label:<34} | {rate:>7.0f} | {ratio:>6} |")
    print(f"\nmachine after: {machine_state()}")


if __name__ == "__main__":
    main()
