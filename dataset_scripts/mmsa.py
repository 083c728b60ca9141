"""Package an MMSA pickle (CMU-MOSI, CMU-MOSEI or CH-SIMS) as parquet with a dataset card.

    python dataset_scripts/mmsa.py --raw-dir MOSI/Processed --output-dir out/mosi \\
        [--pickle unaligned_50.pkl] [--text-inputs auto|features|token_ids] \\
        [--push-to-hub org/name [--private]] [--num-proc N]

``--raw-dir`` is the pickle itself or a folder holding exactly one ``.pkl`` (else name it
with ``--pickle``). The pickle is read with a restricted unpickler (numpy arrays and plain
containers only). Writes ``data/{train,validation,test}.parquet`` and README.md (the card,
from cards/mmsa.md); ``datasets.load_dataset(output_dir)`` reads them back.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hf_graph4mm.data.mmsa import TEXT_INPUTS, load_mmsa
from hf_graph4mm.hub.dataset_folder import push_dataset_folder, write_dataset_card
from hf_graph4mm.training.command_line import parse_with

CARD_TEMPLATE = Path(__file__).resolve().parent / "cards" / "mmsa.md"
PRETTY_NAMES = {"mosi": "CMU-MOSI", "mosei": "CMU-MOSEI", "sims": "CH-SIMS"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw-dir", required=True, type=Path, help="the MMSA .pkl or a folder holding it")
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--pickle", default=None, help="file name inside --raw-dir when it holds several")
    parser.add_argument("--text-inputs", choices=TEXT_INPUTS, default="auto")
    parser.add_argument(
        "--name", choices=sorted(PRETTY_NAMES), default=None, help="default: guessed from the path"
    )
    parser.add_argument("--push-to-hub", metavar="REPO_ID", default=None)
    parser.add_argument("--private", action="store_true", help="create the Hub repo as private")
    parser.add_argument("--num-proc", type=int, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None, help="datasets cache for the Arrow build")
    return parse_with(parser, sys.argv[1:] if argv is None else argv)  # --raw-dir or --raw_dir


def find_pickle(raw_dir: Path, name: str | None) -> Path:
    if raw_dir.is_file():
        return raw_dir
    if not raw_dir.is_dir():
        raise ValueError(f"--raw-dir {raw_dir} does not exist")
    if name is not None:
        if not (raw_dir / name).is_file():
            raise ValueError(f"--pickle {name} not found in {raw_dir}")
        return raw_dir / name
    pickles = sorted(raw_dir.glob("*.pkl"))
    if len(pickles) != 1:
        found = ", ".join(p.name for p in pickles) or "none"
        raise ValueError(
            f"--raw-dir {raw_dir} should hold exactly one .pkl (found: {found}); pick one with --pickle"
        )
    return pickles[0]


def guess_name(path: Path) -> str:
    lowered = str(path).lower()
    for name in ("mosei", "mosi", "sims"):
        if name in lowered:
            return name
    return "mosi"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pickle_path = find_pickle(args.raw_dir, args.pickle)
    dataset = load_mmsa(
        pickle_path, text_inputs=args.text_inputs, cache_dir=args.cache_dir, num_proc=args.num_proc
    )
    (args.output_dir / "data").mkdir(parents=True, exist_ok=True)
    for split, part in dataset.items():
        part.to_parquet(args.output_dir / "data" / f"{split}.parquet")

    name = args.name or guess_name(pickle_path)
    features = dataset["train"].features
    lines = [f"- source file: `{pickle_path.name}` ({PRETTY_NAMES[name]} layout)"]
    lines += [f"- {split}: {part.num_rows} samples" for split, part in dataset.items()]
    lines += [
        f"- `{column}`: {getattr(feature, 'shape', None) or feature}"
        for column, feature in features.items()
        if column.endswith("_features")
    ]
    write_dataset_card(
        args.output_dir,
        CARD_TEMPLATE,
        {"default": dataset},
        {
            "pretty_name": PRETTY_NAMES[name],
            "statistics": "\n".join(lines),
            "repo_id": args.push_to_hub or str(args.output_dir),
        },
    )
    print("\n".join(lines))
    if args.push_to_hub:
        push_dataset_folder(args.output_dir, args.push_to_hub, args.private, "Add MMSA parquet and card")
        print(f"pushed {args.output_dir} to https://huggingface.co/datasets/{args.push_to_hub}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
