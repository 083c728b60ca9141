"""When GsiT's CPU forward should attend on the real rows: the padded path against the rows variant.

    python benchmarks/gsit_rows_path.py [--threads 2] [--rounds 5] [--batch 8] [--shares 0.5 0.75 0.95]

On a padded batch the interlaced "sdpa" backend either unpacks the rows to the padded layout and runs one
SDPA block per segment pair ("padded"), or attends each sample's real steps on their own, one block per
sample and segment pair ("rows", ``interlaced_attention_sdpa.rows``). Which path runs is
``kernels/interlaced/sdpa.ROWS_MIN_SAVING``'s choice; this script forces each in turn on the same model
and batch (the published MOSI setting, MOSI 50/375/500, every audio and vision length drawn as a share of
its padded length from the bundled sample's shares, raised to at least ``share``), alternating the two
paths round by round, for a training step (forward, L1 loss, backward, Adam) and an inference forward.
It prints, per share, the padded / real score ratio and each path's time: the threshold is read from it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine_state import machine_state  # noqa: E402
from benchmarks.published_baselines import gsit_inputs, length_fractions  # noqa: E402
from benchmarks.timing import time_round_robin  # noqa: E402
from hf_graph4mm import GsiTConfig, GsiTForSequenceClassification  # noqa: E402
from hf_graph4mm.kernels.interlaced import sdpa  # noqa: E402

FORCED = {"padded": float("inf"), "rows": 1.0}


def forced(path: str, run):
    """``run`` with the rows variant forced on (``rows``) or off (``padded``) whatever the threshold says."""

    def wrapped():
        saved = dict(sdpa.ROWS_MIN_SAVING)
        sdpa.ROWS_MIN_SAVING.update(training=FORCED[path], inference=FORCED[path])
        try:
            return run()
        finally:
            sdpa.ROWS_MIN_SAVING.update(saved)

    return wrapped


def score_ratio(config, inputs) -> float:
    """Padded / real scores of one layer of all three passes on this batch (after the conv projections)."""
    from hf_graph4mm.kernels import NAMED_PATTERNS, InterlacedLayout
    from hf_graph4mm.modeling.gsit.inputs import MODALITIES
    from hf_graph4mm.modeling.gsit.layers import lengths_after_conv

    kernels = {
        "text": config.text_kernel_size,
        "audio": config.audio_kernel_size,
        "vision": config.vision_kernel_size,
    }
    lengths = [lengths_after_conv(inputs[f"{m}_lengths"], kernels[m]).tolist() for m in MODALITIES]
    layout = InterlacedLayout.from_lengths([max(n) for n in lengths], torch.tensor(lengths), lengths)
    counts = [layout.score_entries(NAMED_PATTERNS[name]) for name in ("forward", "backward", "self")]
    return sum(padded for padded, _ in counts) / sum(real for _, real in counts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="timed runs per row, round-robin")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: process CPU seconds (use with --threads 1)",
    )
    parser.add_argument("--shares", type=float, nargs="+", default=[0.5, 0.75, 0.95])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"# {machine_state()}")
    fractions, source = length_fractions(None)
    config = GsiTConfig.from_preset("mosi")
    torch.manual_seed(0)
    model = GsiTForSequenceClassification(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, weight_decay=1e-3)
    print(
        f"\nGsiT, published MOSI setting, batch {args.batch}, {args.threads} threads, fastest of {args.rounds} "
        f"alternating rounds, {args.clock} clock; {source}; each sample's audio and vision share raised to at "
        "least the row's share\n"
    )
    print("| min share | padded / real scores | step | padded ms | rows ms | rows x faster |")
    print("|---|---|---|---|---|---|")
    for share in args.shares:
        generator = torch.Generator().manual_seed(1)
        raised = fractions.clone()
        raised[:, 1:] = raised[:, 1:].clamp(min=share)
        features, lengths, labels = gsit_inputs(config, args.batch, generator, raised)
        inputs = {**features, **lengths}
        ratio = score_ratio(config, inputs)

        def training_step(inputs=inputs, labels=labels):
            model.train()
            optimizer.zero_grad()
            loss = model(**inputs, labels=labels).loss
            loss.backward()
            optimizer.step()
            return loss.detach()

        def inference(inputs=inputs):
            model.eval()
            with torch.no_grad():
                return model(**inputs).logits

        for name, run in (("training", training_step), ("inference", inference)):
            runs = {path: (forced(path, run), (), False) for path in FORCED}
            seconds = time_round_robin(runs, "cpu", args.rounds, warmups=1, clock=clock)
            print(
                f"| {share:.2f} | {ratio:.2f} | {name} | {seconds['padded'] * 1e3:.0f} | "
                f"{seconds['rows'] * 1e3:.0f} | {seconds['padded'] / seconds['rows']:.2f} |"
            )
    print(f"\n# thresholds in use: {sdpa.ROWS_MIN_SAVING}; {machine_state()}")


if __name__ == "__main__":
    main()
