"""Our GsiT and Hop-Diffused Attention against the published formulations, side by side on CPU.

    python benchmarks/published_baselines.py [--threads 2] [--rounds 5] [--models gsit graph4mm]

The published models are re-implemented in ``benchmarks/published_reference.py``. All rows of
a table run in this one process, on the same inputs, one after another:

* GsiT: one full training step (forward, L1 loss, backward, AdamW step) of the whole model at
  the MOSI lengths (text/audio/vision 50/375/500, BERT text features precomputed, every step
  real: the published code has no padding mask), batch 8 and 32. The published model holds
  our model's weights (``published_gsit_from_ours``).
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
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

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
    note: str = ""


def try_row(rows: list[Row], build: Callable[..., Row], label: str, *args) -> None:
    """Append ``build(label, *args)``, or a failed row saying why: one backend failing must not hide
    the others."""
    try:
        rows.append(build(label, *args))
    except Exception as error:
        rows.append(Row(label, note=f"failed: {type(error).__name__}: {str(error)[:150]}"))


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
            except Exception as error:
                row.run, row.note = None, f"failed: {type(error).__name__}: {str(error)[:150]}"
                continue
        note = "; ".join(sorted({str(w.message).split(" (same numbers)")[0][:140] for w in caught}))
        row.note = (
            _NOTES.setdefault(row.kind, note) if row.kind and note else note or _NOTES.get(row.kind, "")
        )
    live = {row.label: (row.run, row.inputs, row.needs_grad) for row in rows if row.run is not None}
    seconds = time_round_robin(live, "cpu", rounds, warmups=0)
    for row in rows:
        row.seconds = seconds.get(row.label, row.seconds)


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    print("| row | time ms | time / published | peak MiB | peak / published | note |")
    print("|---|---|---|---|---|---|")
    base = rows[0]
    for row in rows:
        if row.run is None:
            print(f"| {row.label} | - | - | - | - | {row.note} |")
            continue
        print(
            f"| {row.label} | {row.seconds * 1e3:.1f} | {row.seconds / base.seconds:.2f} | "
            f"{row.peak / 2**20:.1f} | {row.peak / base.peak:.2f} | {row.note} |",
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


def gsit_table(batch: int, rounds: int) -> None:
    torch.manual_seed(0)
    config = GsiTConfig()  # the published MOSI setting
    base = GsiTForSequenceClassification(config)
    generator = torch.Generator().manual_seed(1)
    inputs = {
        f"{m}_features": torch.randn(batch, MOSI_LENGTHS[m], config.feature_dims[m], generator=generator)
        for m in ("text", "audio", "vision")
    }
    labels = torch.randn(batch, generator=generator)

    def adamw(model):
        return torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=1e-3)

    published = published_gsit_from_ours(base).train()
    forward = lambda m: torch.nn.functional.l1_loss(m(**inputs).view(-1), labels)  # noqa: E731
    rows = [
        Row(
            "published (bmm per segment pair, no padding mask)",
            train_step(published, adamw(published), forward),
        )
    ]

    def ours(label, name, overrides):
        model = GsiTForSequenceClassification(GsiTConfig(**overrides))
        model.load_state_dict(base.state_dict())
        model.set_attn_implementation(name)
        model.train()
        ours_forward = lambda m: m(**inputs, labels=labels).loss  # noqa: E731
        return Row(label, train_step(model, adamw(model), ours_forward), kind=f"gsit {name}")

    variants = [(f"ours {name}", name, {}) for name in BACKENDS]
    for name in ("sdpa", "eager"):
        variants.append(
            (f"ours {name}, attention_dropout 0 (as published)", name, {"attention_dropout": 0.0})
        )
    for label, name, overrides in variants:
        try_row(rows, ours, label, name, overrides)
    measure_rows(rows, rounds)
    print_table(
        f"GsiT train step (fwd + L1 + bwd + AdamW), MOSI 50/375/500, batch {batch}, "
        f"{torch.get_num_threads()} threads, fastest of {rounds} round-robin rounds",
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
        f"{torch.get_num_threads()} threads, fastest of {rounds} round-robin rounds",
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
    args = parser.parse_args(argv)
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
        for batch in args.gsit_batches:
            gsit_table(batch, args.rounds)
    print(f"\n# machine at end: {machine_state()}")


if __name__ == "__main__":
    main()
