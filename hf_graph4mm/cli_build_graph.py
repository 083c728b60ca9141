"""``hf-graph4mm build-graph``: a nodes table and an edges table -> a Graph4MM dataset folder.

hf-graph4mm build-graph --nodes nodes.parquet --edges edges.csv --images-dir imgs/ --output out/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LAYOUTS = ("shared", "per_row")  # hf_graph4mm.data.user_graph.layout.LAYOUTS / FORMATS, kept light here
FORMATS = ("parquet", "arrow")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hf-graph4mm build-graph",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        epilog="Schemas and a walk-through: docs/OWN_DATA_GRAPHS.md.",
    )
    parser.add_argument(
        "--nodes", required=True, help="nodes table (.parquet, .csv, .jsonl): id, text, image, ..."
    )
    parser.add_argument("--edges", default=None, help="edges table: source, target, optional type")
    parser.add_argument("--images-dir", default=None, help="folder the nodes' image paths are relative to")
    parser.add_argument("--output", required=True, help="dataset folder to write")
    parser.add_argument(
        "--string-ids", action="store_true", help="node ids are strings (mapped once to integers)"
    )
    parser.add_argument(
        "--directed", action="store_true", help="follow edges one way only (default: both ways)"
    )
    parser.add_argument(
        "--layout", choices=LAYOUTS, default="shared", help="shared graph (default) or a graph per row"
    )
    parser.add_argument("--format", choices=FORMATS, default="parquet")
    parser.add_argument(
        "--hops", type=int, default=2, help="per_row layout: neighbourhood radius stored per row"
    )
    parser.add_argument("--label-names", default=None, help="comma-separated class names (order = class ids)")
    parser.add_argument(
        "--verbalizers", type=Path, default=None, help="JSON file {label name: text to generate for it}"
    )
    parser.add_argument("--verbalizer-template", default="{}", help="text of a label without a verbaliser")
    parser.add_argument(
        "--split-fractions", default="0.8,0.1,0.1", help="train,validation,test for unsplit nodes"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--node-columns",
        default=None,
        metavar="ROLE=NAME,...",
        help="your nodes table's column names, e.g. id=asin,text=title,image=photo,label=category "
        "(roles: id, text, image, label, target_text, split)",
    )
    parser.add_argument(
        "--edge-columns",
        default=None,
        metavar="ROLE=NAME,...",
        help="your edges table's column names, e.g. source=src,target=dst,type=relation",
    )
    parser.add_argument(
        "--prompt", default=None, help="instruction stored in every row (train, evaluate and predict use it)"
    )
    parser.add_argument("--name", default=None, help="graph name (default: the output folder's name)")
    parser.add_argument(
        "--no-embed-images", action="store_true", help="store absolute image paths instead of the image bytes"
    )
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    return parser().parse_args(argv)


def _columns(text: str | None, roles: tuple[str, ...], flag: str) -> dict[str, str]:
    """``"id=asin,text=title"`` -> ``{"id": "asin", "text": "title"}``; unknown roles are named."""
    if not text:
        return {}
    mapping = {}
    for part in text.split(","):
        role, _, name = part.partition("=")
        role, name = role.strip(), name.strip()
        if role not in roles or not name:
            raise SystemExit(f"{flag} {text!r}: expected ROLE=NAME pairs with ROLE one of {', '.join(roles)}")
        mapping[role] = name
    return mapping


def main(argv: list[str]) -> int:
    from .data.user_graph import EdgeColumns, NodeColumns, build_graph_dataset

    args = parse_args(argv)
    node_roles = ("id", "text", "image", "label", "target_text", "split")
    node_columns = NodeColumns(**_columns(args.node_columns, node_roles, "--node-columns"))
    edge_columns = EdgeColumns(**_columns(args.edge_columns, ("source", "target", "type"), "--edge-columns"))
    verbalizers = None
    if args.verbalizers is not None:
        try:
            verbalizers = json.loads(args.verbalizers.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise SystemExit(
                f"--verbalizers {args.verbalizers}: cannot read a JSON object ({error})"
            ) from None
    try:
        fractions = tuple(float(part) for part in args.split_fractions.split(","))
    except ValueError:
        raise SystemExit(f"--split-fractions {args.split_fractions!r}: expected three numbers") from None
    built = build_graph_dataset(
        args.nodes,
        args.edges,
        args.output,
        args.images_dir,
        string_ids=args.string_ids,
        directed=args.directed,
        name=args.name,
        node_columns=node_columns,
        edge_columns=edge_columns,
        label_names=[n.strip() for n in args.label_names.split(",")] if args.label_names else None,
        verbalizers=verbalizers,
        verbalizer_template=args.verbalizer_template,
        layout=args.layout,
        format=args.format,
        hops=args.hops,
        fractions=fractions,
        seed=args.seed,
        embed_images=not args.no_embed_images,
        prompt=args.prompt,
    )
    sizes = ", ".join(f"{split}: {len(rows)}" for split, rows in built.examples.items())
    print(f"wrote {sizes} examples ({args.layout} graph, {args.format}) to {built.output_dir}")
    if built.verbalizer is not None:
        print(
            f"labels: {', '.join(built.verbalizer.label_names)} (verbalisers in {built.output_dir}/labels.json)"
        )
    return 0
