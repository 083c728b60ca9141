"""Our GsiT and Hop-Diffused Attention against the published formulations, side by side on CPU.

    python benchmarks/published_baselines.py [--threads 2] [--rounds 5] [--models gsit graph4mm]

The published models are re-implemented in ``benchmarks/published_reference.py``. All rows of
a table run in this one process, on the same inputs, one after another:

* GsiT, in the published MOSI setting (``GsiTConfig.from_preset("mosi")``, which is ``GsiTConfig()``:
  dropout 0.2 on each pass's input and 0.5 on the text features, none elsewhere), batch 8 and 32,
  MOSI padded lengths (text/audio/vision 50/375/500, BERT text features precomputed): inference
  (eval forward, no grad) and one full training step (forward, L1 loss, backward, the published
  Adam step: lr 5e-4, L2 weight decay 1e-3), each on inputs with no padding and on inputs with
  realistic lengths (drawn per sample from an MMSA pickle's real/padded length shares:
  ``--mmsa-pickle``, default the bundled sample, which is synthetic; features are zero past each
  real length). The published model runs the padded tensors as they come (it has no padding
  mask); ours gets the lengths. The published model holds our model's weights
  (``published_gsit_from_ours``). The sdpa rows say how many attention calls ran on the real rows
  only (sdpa's rows variant) and how many on the padded layout.
* Graph4MM: the structure module alone, forward + backward, d 768, 12 heads, on random
  symmetric graphs with self-loops (B8 x N12 and B128 x N32). Published ``steps`` counts the
  series terms (steps 4 = i 0..3), so our K = 3 is the like-for-like row; K = 4 is shown too.
  The floor row is the cost of our module's own q and k projections (two 768 x 768 Linear); the
  bound row is every matrix product our K = 3 module cannot avoid, on ready-made operands, with no
  elementwise work at all (``gemm_bound``).

Columns: time = fastest of ``--rounds`` runs after two warm-ups, round-robin over the rows
(``benchmarks.timing.time_round_robin``: load from other jobs then hits every row alike);
peak = largest live torch CPU allocation during one run (``cpu_peak_bytes``); both also as a
ratio to the published row (below 1 = less than published).
Before the timings a float64 check prints how far each formulation is from ours.
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.attention import cpu_peak_bytes  # noqa: E402
from benchmarks.machine_state import machine_state  # noqa: E402
from benchmarks.published_reference import (  # noqa: E402
    PublishedAttentionDiffusion,
    PublishedStructureAdapter,
    cross_sample_shift,
    published_gsit_from_ours,
    with_double_scaled_queries,
)
from benchmarks.timing import step, time_round_robin  # noqa: E402
from hf_graph4mm import Graph4MMConfig, GsiTConfig, GsiTForSequenceClassification  # noqa: E402
from hf_graph4mm.graph_batch import SubgraphInputs  # noqa: E402
from hf_graph4mm.modeling.graph4mm.structure import build_structure_module  # noqa: E402
from hf_graph4mm.modeling.gsit.presets import published_preset  # noqa: E402

BACKENDS = ("eager", "sdpa", "flex_attention")
MOSI_LENGTHS = {"text": 50, "audio": 375, "vision": 500}


# ----------------------------------------------------------------------------------- float64 checks
def check_gsit() -> None:
    """Max |published - ours| of the logits, float64, eval, no padding, a small random model."""
    torch.manual_seed(0)
    config = GsiTConfig(
        text_dim=12,
        audio_dim=3,
        vision_dim=4,
        hidden_size=16,
        num_attention_heads=4,
        num_layers=2,
        initializer_range=0.5,
    )
    ours = GsiTForSequenceClassification(config).double().eval()
    inputs = {
        "text_features": torch.randn(3, 9, 12, dtype=torch.float64),
        "audio_features": torch.randn(3, 11, 3, dtype=torch.float64),
        "vision_features": torch.randn(3, 8, 4, dtype=torch.float64),
    }
    single = published_gsit_from_ours(ours, double_scaling=False).eval()(**inputs)
    double = published_gsit_from_ours(ours).eval()(**inputs)
    with torch.no_grad():
        for name in ("eager", "sdpa"):
            ours.set_attn_implementation(name)
            plain = ours(**inputs).logits
            rescaled = with_double_scaled_queries(ours)(**inputs).logits
            print(
                f"# GsiT float64 check ({name}): |published(single scaling) - ours| = "
                f"{(single - plain).abs().max():.1e}; |published - ours with q scaled 1/sqrt(head_dim)| = "
                f"{(double - rescaled).abs().max():.1e}; |published - ours| = {(double - plain).abs().max():.1e} "
                "(the double-scaling quirk)"
            )


def random_graph(batch: int, nodes: int, generator: torch.Generator, density: float = 0.3) -> torch.Tensor:
    """``[batch, nodes, nodes]`` bool: symmetric, self-loops on."""
    adjacency = torch.rand(batch, nodes, nodes, generator=generator) < density
    return adjacency | adjacency.transpose(1, 2) | torch.eye(nodes, dtype=torch.bool)


def set_structure_backend(module: torch.nn.Module, config: Graph4MMConfig, name: str) -> dict:
    """Select ``name`` the way the module reads it; returns the extra forward kwargs (old API)."""
    config._attn_implementation = name
    if hasattr(module, "refresh_backend"):
        module.refresh_backend()
    if "implementation" in inspect.signature(module.forward).parameters:
        return {"implementation": name}
    return {}


def structure_module(num_steps: int, width: int = 768, heads: int = 12, name: str = "eager"):
    config = Graph4MMConfig(
        qformer_config={"hidden_size": width, "num_attention_heads": heads, "intermediate_size": 4 * width},
        diffusion_steps=num_steps,
    )
    module = build_structure_module(config, True)
    return module, set_structure_backend(module, config, name)


def check_graph4mm() -> None:
    """Batch mixing, float64: how far sample 0's output moves when only sample 1's features change."""
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(4, 6, 32, generator=generator, dtype=torch.float64)
    adjacency = random_graph(4, 6, generator)
    torch.manual_seed(0)
    published = PublishedStructureAdapter(32, 4, steps=4).double()
    ours, kwargs = structure_module(3, width=32, heads=4)
    print(
        f"# Graph4MM float64 batch-mixing check: changing sample 1 moves sample 0's output by "
        f"{cross_sample_shift(published, hidden, adjacency):.1e} (published) and "
        f"{cross_sample_shift(ours.double(), hidden, adjacency, **kwargs):.1e} (ours)"
    )


# --------------------------------------------------------------------------------------- tables
# Our backends warn once per process (e.g. flex_attention falling back to sdpa when training on
# CPU): remember each row kind's warnings so later tables still show them.
_NOTES: dict[str, str] = {}


@dataclass
class Row:
    """One table row: what to run (``run()``, on ``inputs`` that get gradients when ``needs_grad``)."""

    label: str
    run: Callable | None = None
    inputs: tuple = ()
    needs_grad: bool = False
    kind: str = ""  # which warnings it shares with rows of the same backend
    seconds: float = math.inf
    peak: int = 0
    flops: int = 0
    note: str = ""


def counted_flops(run, inputs, needs_grad) -> int:
    """The floating-point operations of one step, as ``torch.utils.flop_counter`` counts them (matrix
    products and attention), with the CPU flash attention ops torch's table lacks counted like its GPU
    ones: the work a row cannot avoid, to read its time against (a row at its count's ratio is as
    efficient as the published code, not merely faster)."""
    from torch.utils import flop_counter

    aten = torch.ops.aten
    custom = {}
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):
        custom[aten._scaled_dot_product_flash_attention_for_cpu] = (
            lambda query, key, value, *args, out_val=None, **kwargs: flop_counter.sdpa_flop_count(
                query, key, value
            )
        )
        custom[aten._scaled_dot_product_flash_attention_for_cpu_backward] = (
            lambda grad_out, query, key, value, *args, out_val=None, **kwargs: (
                flop_counter.sdpa_backward_flop_count(grad_out, query, key, value)
            )
        )
    with flop_counter.FlopCounterMode(display=False, custom_mapping=custom) as counter:
        step(run, inputs, needs_grad)
    return counter.get_total_flops()


def try_row(rows: list[Row], build: Callable[..., Row], label: str, *args) -> None:
    """Append ``build(label, *args)``, or a failed row saying why: one backend failing must not hide
    the others."""
    try:
        rows.append(build(label, *args))
    except Exception as error:
        rows.append(Row(label, note=f"failed: {type(error).__name__}: {str(error)[:150]}"))


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CLOCK = ["wall"]  # set by --clock


def measure_rows(rows: list[Row], rounds: int) -> None:
    """Fill in time and peak. Round-robin: every row runs once per round and keeps its fastest
    time, so a burst of load from other jobs hits all rows alike instead of one row's repeats."""
    for row in rows:
        if row.run is None:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                for _ in range(2):  # warm-up: allocator, caches; the backends' one-time warnings
                    step(row.run, row.inputs, row.needs_grad)
                row.peak = cpu_peak_bytes(row.run, row.inputs, row.needs_grad)
                row.flops = counted_flops(row.run, row.inputs, row.needs_grad)
            except Exception as error:
                row.run, row.note = None, f"failed: {type(error).__name__}: {str(error)[:150]}"
                continue
        note = "; ".join(sorted({str(w.message).split(" (same numbers)")[0][:140] for w in caught}))
        note = _NOTES.setdefault(row.kind, note) if row.kind and note else note or _NOTES.get(row.kind, "")
        row.note = "; ".join(part for part in (row.note, note) if part)
    live = {row.label: (row.run, row.inputs, row.needs_grad) for row in rows if row.run is not None}
    seconds = time_round_robin(live, "cpu", rounds, warmups=0, clock=CLOCKS[CLOCK[0]])
    for row in rows:
        row.seconds = seconds.get(row.label, row.seconds)


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    print(
        "| row | time ms | x faster than published | GFLOP | published / row GFLOP | peak MiB | "
        "peak / published | note |"
    )
    print("|---|---|---|---|---|---|---|---|")
    base = rows[0]
    for row in rows:
        if row.run is None:
            print(f"| {row.label} | - | - | - | - | - | - | {row.note} |")
            continue
        print(
            f"| {row.label} | {row.seconds * 1e3:.1f} | {base.seconds / row.seconds:.2f} | {row.flops / 1e9:.1f} | "
            f"{base.flops / max(row.flops, 1):.2f} | {row.peak / 2**20:.1f} | {row.peak / base.peak:.2f} | {row.note} |",
            flush=True,
        )


def train_step(model, optimizer, forward):
    def run():
        optimizer.zero_grad(set_to_none=True)
        loss = forward(model)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return run


def inference_step(model, forward):
    def run():
        with torch.no_grad():
            return forward(model)

    return run


def length_fractions(path: str | None) -> tuple[torch.Tensor, str]:
    """``([N, 3] real length / padded length per sample, in MOSI_LENGTHS order; where they come from)``.

    From an MMSA pickle's ``text_bert`` mask, ``audio_lengths`` and ``vision_lengths`` (every split):
    ``path``, else the bundled sample (hf_graph4mm/sample_data/mmsa), which is synthetic (its audio
    and vision lengths are uniform on [padded / 2, padded], its text is never padded), not the
    MOSI release's distribution.
    """
    from hf_graph4mm.data.mmsa.safe_pickle import safe_load_pickle
    from hf_graph4mm.testing.samples.mmsa import SAMPLE_PICKLE

    source = Path(path) if path else SAMPLE_PICKLE
    splits = safe_load_pickle(source)
    rows = []
    for split in splits.values():
        text = torch.as_tensor(split["text_bert"][:, 1].sum(-1) / split["text_bert"].shape[-1])
        audio = torch.as_tensor(split["audio_lengths"]) / split["audio"].shape[1]
        vision = torch.as_tensor(split["vision_lengths"]) / split["vision"].shape[1]
        rows.append(torch.stack([text.float(), audio.float(), vision.float()], dim=1))
    fractions = torch.cat(rows)
    label = f"{source.name}" + ("" if path else " (bundled synthetic sample, not the MOSI release)")
    shares = "/".join(f"{share:.2f}" for share in fractions.mean(0).tolist())
    return fractions, f"lengths drawn from {label}, mean real share text/audio/vision {shares}"


def gsit_inputs(config, batch: int, generator, fractions: torch.Tensor | None):
    """Random MOSI-shaped features (zero past each real length, as MMSA pads), the lengths (empty with
    no ``fractions``: every step real) and regression labels."""
    features, lengths = {}, {}
    drawn = (
        None if fractions is None else fractions[torch.randint(len(fractions), (batch,), generator=generator)]
    )
    for index, m in enumerate(MOSI_LENGTHS):
        values = torch.randn(batch, MOSI_LENGTHS[m], config.feature_dims[m], generator=generator)
        if drawn is not None:
            real = (drawn[:, index] * MOSI_LENGTHS[m]).round().long().clamp(1, MOSI_LENGTHS[m])
            values = values * (torch.arange(MOSI_LENGTHS[m])[None, :] < real[:, None])[..., None]
            lengths[f"{m}_lengths"] = real
        features[f"{m}_features"] = values
    return features, lengths, torch.randn(batch, generator=generator)


def rows_calls(model, inputs) -> str:
    """How many of one forward's attention calls ran sdpa's rows variant (the real rows only)."""
    from hf_graph4mm.kernels.interlaced import sdpa

    original, counted = sdpa.interlaced_attention_sdpa.rows, []

    def counting(*args, **kwargs):
        counted.append(1)
        return original(*args, **kwargs)

    counting.applies = original.applies
    sdpa.interlaced_attention_sdpa.rows = counting
    try:
        with torch.no_grad():
            model(**inputs)
    finally:
        sdpa.interlaced_attention_sdpa.rows = original
    passes = 3 * model.config.num_layers
    return f"{len(counted)} of {passes} attention calls on real rows, {passes - len(counted)} padded"


def gsit_rows(base, features: dict, lengths: dict, labels, train: bool) -> list[Row]:
    """Published, ours eager and ours sdpa (the default) on one batch: a training step (published Adam) or
    an inference forward."""
    training = published_preset("mosi").training

    def step_of(model, forward):
        if not train:
            return inference_step(model.eval(), forward)
        optimizer = torch.optim.Adam(
            model.parameters(), lr=training.learning_rate, weight_decay=training.weight_decay
        )
        return train_step(model.train(), optimizer, forward)

    published = published_gsit_from_ours(base)
    rows = [
        Row(
            "published (bmm per segment pair, padded tensors as they come)",
            step_of(published, lambda m: F.l1_loss(m(**features).view(-1), labels)),
        )
    ]

    def ours(label, name):
        model = GsiTForSequenceClassification(GsiTConfig.from_preset("mosi"))
        model.load_state_dict(base.state_dict())
        model.set_attn_implementation(name)
        note = rows_calls(model.eval(), {**features, **lengths}) if name == "sdpa" and lengths else ""
        run = step_of(model, lambda m: m(**features, **lengths, labels=labels).loss)
        return Row(label, run, kind=f"gsit {name}", note=note)

    for label, name in (("ours eager", "eager"), ("ours sdpa (default)", "sdpa")):
        try_row(rows, ours, label, name)
    return rows


def gsit_tables(batch: int, rounds: int, fractions: torch.Tensor, source: str, kinds) -> None:
    """Inference and one training step of the published MOSI setting, published vs ours, with no padding and
    with realistic lengths."""
    config = GsiTConfig.from_preset("mosi")
    torch.manual_seed(0)
    base = GsiTForSequenceClassification(config)
    for padding in ("no padding", "realistic lengths"):
        generator = torch.Generator().manual_seed(1)
        features, lengths, labels = gsit_inputs(
            config, batch, generator, fractions if padding != "no padding" else None
        )
        for kind in kinds:
            rows = gsit_rows(base, features, lengths, labels, kind == "training")
            measure_rows(rows, rounds)
            what = (
                "training step (fwd + L1 + bwd + Adam)"
                if kind == "training"
                else "inference (eval forward, no grad)"
            )
            print_table(
                f"GsiT {what}, published MOSI setting, MOSI 50/375/500, {padding}, batch {batch}, "
                f"{torch.get_num_threads()} threads, fastest of {rounds} round-robin rounds, {CLOCK[0]} clock"
                + (f"; {source}" if padding != "no padding" else ""),
                rows,
            )


def gemm_bound(batch: int, nodes: int, width: int = 768, heads: int = 12, num_steps: int = 3) -> Callable:
    """The matrix products our K = 3 module's training step cannot avoid, on ready-made operands, nothing else.

    Forward: the fused q|k projection, ``q k^T``, Horner's K-1 products, ``F v``; backward: the
    projection's input and weight gradients and the Function's eight batched products (``F^T g``,
    ``g v^T``, two per Horner product, ``grad_S k``, ``grad_S^T q``). No softmax, mask, copy or add:
    the module can approach this, not beat it, with torch's batched products.
    """
    generator = torch.Generator().manual_seed(2)
    head_dim, flat = width // heads, batch * heads
    states = torch.randn(batch * nodes, width, generator=generator)
    weight = torch.randn(2 * width, width, generator=generator)
    grad_qk = torch.randn(batch * nodes, 2 * width, generator=generator)
    q, k, v, g = (torch.randn(flat, nodes, head_dim, generator=generator) for _ in range(4))
    p = torch.softmax(torch.randn(flat, nodes, nodes, generator=generator), -1)

    @torch.no_grad()
    def run():
        torch.nn.functional.linear(states, weight)
        scores = torch.bmm(q, k.transpose(1, 2))
        operator = p
        for _ in range(num_steps - 1):
            operator = torch.bmm(p, operator)
        torch.bmm(operator, v)
        torch.mm(grad_qk, weight)
        torch.mm(grad_qk.t(), states)
        torch.bmm(operator.transpose(1, 2), g)
        grad_operator = torch.bmm(g, v.transpose(1, 2))
        for _ in range(num_steps - 1):
            torch.bmm(grad_operator, operator.transpose(1, 2))
            grad_operator = torch.bmm(p.transpose(1, 2), grad_operator)
        torch.bmm(scores, k)
        return torch.bmm(scores.transpose(1, 2), q)

    return run


def graph4mm_table(batch: int, nodes: int, rounds: int) -> None:
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(batch, nodes, 768, generator=generator).requires_grad_(True)
    adjacency = random_graph(batch, nodes, generator)
    graph = adjacency.float()
    mask, hops = torch.ones(batch, nodes, dtype=torch.bool), torch.zeros(batch, nodes, dtype=torch.long)
    rows = []
    for steps in (4, 3):
        torch.manual_seed(0)
        published = PublishedAttentionDiffusion(768, 12, steps=steps)
        label = f"published AttentionDiffusion steps {steps} (i=0..{steps - 1})"
        rows.append(Row(label, lambda p=published: p(hidden, graph), (hidden,), True))

    def ours(label, num_steps, name):
        torch.manual_seed(0)
        module, kwargs = structure_module(num_steps, name=name)
        subgraph = SubgraphInputs("text", mask, adjacency, hops)
        run = lambda: module(hidden, subgraph, **kwargs)  # noqa: E731
        return Row(label, run, (hidden,), True, kind=f"hop {name}")

    for num_steps in (3, 4):
        for name in BACKENDS:
            label = f"ours K={num_steps} {name}"
            try_row(rows, ours, label, num_steps, name)
    torch.manual_seed(0)
    query, key = torch.nn.Linear(768, 768), torch.nn.Linear(768, 768)
    rows.append(
        Row("floor: our q and k projections only", lambda: query(hidden) + key(hidden), (hidden,), True)
    )
    rows.append(Row("bound: the operator path's GEMMs only (see gemm_bound)", gemm_bound(batch, nodes)))
    measure_rows(rows, rounds)
    print_table(
        f"Graph4MM structure module, fwd + bwd, d 768, 12 heads, B{batch} x N{nodes}, "
        f"{torch.get_num_threads()} threads, fastest of {rounds} round-robin rounds, {CLOCK[0]} clock",
        rows,
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=5, help="timed runs per row, round-robin (B8 graphs: 2x)"
    )
    parser.add_argument("--models", nargs="+", choices=["gsit", "graph4mm"], default=["gsit", "graph4mm"])
    parser.add_argument("--gsit-batches", nargs="+", type=int, default=[8, 32])
    parser.add_argument(
        "--gsit-kinds", nargs="+", choices=["inference", "training"], default=["inference", "training"]
    )
    parser.add_argument(
        "--mmsa-pickle",
        default=None,
        help="an MMSA pickle (e.g. the MOSI release's unaligned_50.pkl) to draw realistic lengths from; "
        "default: the bundled synthetic sample",
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="cpu: this process's CPU seconds, which leave out other jobs' load (use with --threads 1)",
    )
    args = parser.parse_args(argv)
    CLOCK[0] = args.clock
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, CPU; machine at start: {machine_state()}")
    if "gsit" in args.models:
        check_gsit()
    if "graph4mm" in args.models:
        check_graph4mm()
    if "graph4mm" in args.models:
        for batch, nodes in ((8, 12), (128, 32)):
            graph4mm_table(batch, nodes, 2 * args.rounds if batch == 8 else args.rounds)
    if "gsit" in args.models:
        fractions, source = length_fractions(args.mmsa_pickle)
        print(
            f"# GsiTConfig() is the published MOSI setting: {GsiTConfig() == GsiTConfig.from_preset('mosi')}"
        )
        for batch in args.gsit_batches:
            gsit_tables(batch, args.rounds, fractions, source, args.gsit_kinds)
    print(f"\n# machine at end: {machine_state()}")


if __name__ == "__main__":
    main()
