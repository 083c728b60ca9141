"""Turn the WikiWeb2M release into a Graph4MM dataset, or download its images.

    python dataset_scripts/wikiweb2m.py [build] --raw-dir RAW --output-dir OUT \\
        [--images-dir IMAGES] [--sample-pages 10000 --seed 0] [--num-proc 8] \\
        [--format parquet|arrow] [--push-to-hub org/name]
    python dataset_scripts/wikiweb2m.py download-images --raw-dir RAW --images-dir IMAGES \\
        [--workers 8] [--rate 5] [--user-agent "me (me@example.org)"] [--sample-pages N --seed S]

``build`` writes ``OUT/data/{split}-00000-of-00001.parquet`` (or ``save_to_disk`` with
``--format arrow``) and the dataset card ``OUT/README.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from hf_graph4mm.data.wikiweb2m import load_wikiweb2m, wikiweb2m_image_jobs
from hf_graph4mm.data.wikiweb2m.download import DEFAULT_USER_AGENT, download_images
from hf_graph4mm.hub.dataset_folder import write_dataset_card
from hf_graph4mm.training.command_line import spelled_as

CARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cards", "wikiweb2m.md")
COMMANDS = ("build", "download-images")


def write_card(dataset_dict, output_dir: str, card_template: str = CARD, repo_id: str | None = None) -> str:
    """The card template with this build's features and split sizes in its ``dataset_info``; returns its path."""
    replacements = {"repo_id": repo_id or output_dir}
    return os.fspath(write_dataset_card(output_dir, card_template, {"default": dataset_dict}, replacements))


def build(args: argparse.Namespace) -> None:
    images_dir = args.images_dir if args.images_dir is not None else "auto"
    dataset_dict = load_wikiweb2m(
        args.raw_dir,
        images_dir,
        sample_pages=args.sample_pages,
        seed=args.seed,
        num_proc=args.num_proc,
        cache_dir=args.cache_dir,
    )
    os.makedirs(args.output_dir, exist_ok=True)
    if args.format == "arrow":
        dataset_dict.save_to_disk(args.output_dir)
    else:
        os.makedirs(os.path.join(args.output_dir, "data"), exist_ok=True)
        for split, dataset in dataset_dict.items():
            dataset.to_parquet(os.path.join(args.output_dir, "data", f"{split}-00000-of-00001.parquet"))
    card = write_card(dataset_dict, args.output_dir, repo_id=args.push_to_hub)
    print(
        f"wrote {', '.join(f'{s}: {len(d)}' for s, d in dataset_dict.items())} examples to {args.output_dir}"
    )
    if args.push_to_hub:
        from huggingface_hub import HfApi

        dataset_dict.push_to_hub(args.push_to_hub)
        HfApi().upload_file(
            path_or_fileobj=card, path_in_repo="README.md", repo_id=args.push_to_hub, repo_type="dataset"
        )
        print(f"pushed to https://huggingface.co/datasets/{args.push_to_hub}")


def download(args: argparse.Namespace) -> int:
    jobs = wikiweb2m_image_jobs(args.raw_dir, args.images_dir, sample_pages=args.sample_pages, seed=args.seed)
    report = download_images(
        jobs,
        num_workers=args.workers,
        requests_per_second=args.rate or None,
        timeout=args.timeout,
        retries=args.retries,
        backoff=args.backoff,
        user_agent=args.user_agent,
        progress=not args.no_progress,
    )
    print(f"images: {report.summary()}")
    if report.failures:
        failures = os.path.join(args.images_dir, "download_failures.tsv")
        with open(failures, "w", encoding="utf-8") as handle:
            handle.writelines(f"{url}\t{reason}\n" for url, reason in sorted(report.failures.items()))
        print(f"failed URLs listed in {failures}; rerun to retry them (finished files are skipped)")
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        sub = commands.add_parser(name)
        sub.add_argument("--raw-dir", required=True, help="folder with the wikiweb2m-*.tfrecord* shards")
        sub.add_argument(
            "--sample-pages", type=int, default=None, help="keep a seeded random subset of pages"
        )
        sub.add_argument("--seed", type=int, default=0)
    build_parser, download_parser = commands.choices["build"], commands.choices["download-images"]
    build_parser.add_argument("--output-dir", required=True)
    build_parser.add_argument(
        "--images-dir", default=None, help="downloaded images (default: RAW/images if present)"
    )
    build_parser.add_argument("--num-proc", type=int, default=None, help="shards processed in parallel")
    build_parser.add_argument("--format", choices=("parquet", "arrow"), default="parquet")
    build_parser.add_argument("--cache-dir", default=None, help="datasets cache folder")
    build_parser.add_argument("--push-to-hub", default=None, metavar="ORG/NAME")
    download_parser.add_argument("--images-dir", required=True)
    download_parser.add_argument("--workers", type=int, default=8)
    download_parser.add_argument(
        "--rate", type=float, default=5.0, help="requests per second in all (0 = no limit)"
    )
    download_parser.add_argument("--timeout", type=float, default=20.0, help="seconds per request")
    download_parser.add_argument("--retries", type=int, default=3)
    download_parser.add_argument(
        "--backoff", type=float, default=1.0, help="first retry delay in seconds (doubles)"
    )
    download_parser.add_argument(
        "--user-agent", default=DEFAULT_USER_AGENT, help="identify yourself, with a contact address"
    )
    download_parser.add_argument("--no-progress", action="store_true")
    return main_parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv.insert(0, "build")  # build is the default command
    main_parser = parser()
    commands = next(a for a in main_parser._actions if isinstance(a, argparse._SubParsersAction))
    if argv[0] in commands.choices:  # --raw-dir or --raw_dir
        argv = [argv[0], *spelled_as(commands.choices[argv[0]], argv[1:])]
    args = main_parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "build":
        build(args)
        return 0
    return download(args)


if __name__ == "__main__":
    sys.exit(main())
