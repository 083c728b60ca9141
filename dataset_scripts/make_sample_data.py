"""Regenerate the bundled sample data (hf_graph4mm/sample_data/) from seeded generators.

    python dataset_scripts/make_sample_data.py [--out-dir DIR] [--only wikiweb2m ele_fashion mmsa]

Each dataset's folder is emptied and written again in that dataset's real release format;
the generators are seeded, so a rerun reproduces the committed bytes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from hf_graph4mm.testing.samples.ele_fashion import write_ele_fashion_sample_data
from hf_graph4mm.testing.samples.mmsa import write_mmsa_sample

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "hf_graph4mm" / "sample_data"
MAX_SAMPLE_BYTES = 2 * 1024 * 1024  # the whole bundled sample must stay small enough to ship in the wheel


def _wikiweb2m_writer() -> Callable[[Path], object] | None:
    try:
        from hf_graph4mm.testing.samples.wikiweb2m import write_wikiweb2m_sample
    except ImportError:
        return None
    return write_wikiweb2m_sample


WRITERS: dict[str, Callable[[], Callable[[Path], object] | None]] = {
    "wikiweb2m": _wikiweb2m_writer,
    "ele_fashion": lambda: write_ele_fashion_sample_data,
    "mmsa": lambda: write_mmsa_sample,
}


def folder_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLE_DATA)
    parser.add_argument("--only", nargs="+", choices=sorted(WRITERS), default=sorted(WRITERS))
    args = parser.parse_args(argv)
    status = 0
    for name in args.only:
        writer = WRITERS[name]()
        if writer is None:
            print(
                f"{name}: skipped, its sample writer is not importable from hf_graph4mm.testing.samples",
                file=sys.stderr,
            )
            status = 1
            continue
        target = args.out_dir / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        writer(target)
        print(
            f"{name}: {sum(1 for f in target.rglob('*') if f.is_file())} files, {folder_size(target):,} bytes"
        )
    total = folder_size(args.out_dir)
    if total > MAX_SAMPLE_BYTES:
        print(f"sample data is {total:,} bytes, over the {MAX_SAMPLE_BYTES:,} byte budget", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
