"""Package your own sentiment features (a .npy folder with a labels table, or parquet / JSON Lines tables
of ragged rows) as parquet with a dataset card, in the columns of our MMSA datasets.

    python dataset_scripts/sentiment_features.py --input my_features --output-dir out/my-sentiment \\
        [--name "My sentiment features"] [--push-to-hub org/name [--private]]

Writes ``data/{split}.parquet`` and README.md (the card, from cards/sentiment_features.md);
``hf-graph4mm train --dataset out/my-sentiment`` and ``datasets.load_dataset(out/my-sentiment)`` read them.
The layouts: docs/OWN_DATA_SENTIMENT.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hf_graph4mm.data.sentiment import load_sentiment_features, save_sentiment_dataset
from hf_graph4mm.hub.dataset_folder import push_dataset_folder, write_dataset_card
from hf_graph4mm.training.command_line import parse_with

CARD_TEMPLATE = Path(__file__).resolve().parent / "cards" / "sentiment_features.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--input", required=True, type=Path, help="a .npy folder with labels.csv, or tables of rows"
    )
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--name", default="Sentiment features", help="the card's title")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", default=None)
    parser.add_argument("--private", action="store_true", help="create the Hub repo as private")
    return parse_with(parser, sys.argv[1:] if argv is None else argv)  # --raw-dir or --raw_dir


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dataset = load_sentiment_features(args.input)
    save_sentiment_dataset(dataset, args.output_dir)
    features = dataset[next(iter(dataset))].features
    lines = [f"- {split}: {part.num_rows} utterances" for split, part in dataset.items()]
    lines += [
        f"- `{m}_features` width: {features[f'{m}_features'].shape[1]}" for m in ("text", "audio", "vision")
    ]
    write_dataset_card(
        args.output_dir,
        CARD_TEMPLATE,
        {"default": dataset},
        {
            "pretty_name": args.name,
            "statistics": "\n".join(lines),
            "repo_id": args.push_to_hub or str(args.output_dir),
        },
    )
    print("\n".join(lines))
    if args.push_to_hub:
        push_dataset_folder(
            args.output_dir, args.push_to_hub, args.private, "Add sentiment features and card"
        )
        print(f"pushed {args.output_dir} to https://huggingface.co/datasets/{args.push_to_hub}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
