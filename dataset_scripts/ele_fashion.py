"""Package an Ele-Fashion (Multimodal Graph Benchmark) release as parquet with a dataset card.

    python dataset_scripts/ele_fashion.py --raw-dir path/to/ele-fashion --output-dir out/ele-fashion \\
        [--seen-classes 0,1,2,3,4,5] [--label-names names.json] [--no-images] [--image-dir DIR] \\
        [--push-to-hub org/name [--private]] [--num-proc N]

Writes two configs next to a README.md (the card, from cards/ele_fashion.md):
``default`` (``data/{train,validation,test}.parquet``: target-node examples) and ``graph``
(``graph/graph.parquet``: the whole graph in one row, ``MultimodalGraph.to_dict()`` layout).
``datasets.load_dataset(output_dir)`` / ``load_dataset(output_dir, "graph")`` read them back.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hf_graph4mm.data.ele_fashion import load_ele_fashion, load_ele_fashion_graph_dataset
from hf_graph4mm.hub.dataset_folder import push_dataset_folder, write_dataset_card
from hf_graph4mm.training.command_line import parse_with

CARD_TEMPLATE = Path(__file__).resolve().parent / "cards" / "ele_fashion.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--raw-dir", required=True, type=Path, help="folder with nc_edges-nodeid.pt, split.pt, ..."
    )
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--seen-classes", default=None, help="comma-separated class ids or names trained on")
    parser.add_argument("--label-names", type=Path, default=None, help="JSON list of the 11 class names")
    parser.add_argument("--no-images", action="store_true", help="text-only nodes even if images exist")
    parser.add_argument(
        "--image-dir", type=Path, default=None, help="folder of {asin}.jpg (or to extract into)"
    )
    parser.add_argument("--push-to-hub", metavar="REPO_ID", default=None)
    parser.add_argument("--private", action="store_true", help="create the Hub repo as private")
    parser.add_argument("--num-proc", type=int, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None, help="datasets cache for the Arrow build")
    return parse_with(parser, sys.argv[1:] if argv is None else argv)  # --raw-dir or --raw_dir


def _read_label_names(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"--label-names {path}: cannot read a JSON list ({error})") from None
    if not isinstance(names, list):
        raise ValueError(f"--label-names {path}: expected a JSON list of class names")
    return names


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = dict(
        label_names=_read_label_names(args.label_names),
        images=False if args.no_images else "auto",
        image_dir=args.image_dir,
        cache_dir=args.cache_dir,
    )
    examples = load_ele_fashion(
        args.raw_dir, seen_classes=args.seen_classes, num_proc=args.num_proc, **options
    )
    graph = load_ele_fashion_graph_dataset(args.raw_dir, **options)
    (args.output_dir / "data").mkdir(parents=True, exist_ok=True)
    (args.output_dir / "graph").mkdir(parents=True, exist_ok=True)
    for split, dataset in examples.items():
        dataset.to_parquet(args.output_dir / "data" / f"{split}.parquet")
    graph.to_parquet(args.output_dir / "graph" / "graph.parquet")

    graph_row = graph[0]["graph"]
    label_names = examples["train"].features["label"].names
    lines = [
        f"- nodes: {len(graph_row['texts'])}, edges: {len(graph_row['edge_source'])}, "
        f"nodes with an image: {sum(image is not None for image in graph_row['images'])}",
        f"- label names: {', '.join(label_names)}",
        f"- seen classes: {args.seen_classes if args.seen_classes is not None else 'all'}",
    ]
    lines += [
        f"- {split}: {dataset.num_rows} examples ({sum(dataset['is_seen_class'])} of seen classes)"
        for split, dataset in examples.items()
    ]
    write_dataset_card(
        args.output_dir,
        CARD_TEMPLATE,
        {"default": examples, "graph": {"graph": graph}},
        {"statistics": "\n".join(lines), "repo_id": args.push_to_hub or str(args.output_dir)},
    )
    print("\n".join(lines))
    if args.push_to_hub:
        push_dataset_folder(
            args.output_dir, args.push_to_hub, args.private, "Add Ele-Fashion parquet and card"
        )
        print(f"pushed {args.output_dir} to https://huggingface.co/datasets/{args.push_to_hub}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
