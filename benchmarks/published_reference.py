"""The two published formulations, re-written from their description, to benchmark against.

Written from the facts in the project's reference notes (section 5), not from the published
code. Both keep the published behaviour on purpose, bugs and quirks included:

* :class:`PublishedGsiT`: the whole published GsiT as its CPU path runs it (no xformers).
  One fused ``in_proj [3d, d]`` per attention; queries scaled by ``1/sqrt(head_dim)`` in the
  projection *and* again on the scores (effective ``1/head_dim``); per pass the sequence is
  split into its three modality segments and each query segment attends to its partner with
  ``bmm`` / softmax / ``bmm``; no key padding mask, no attention dropout.
* :class:`PublishedAttentionDiffusion`: Graph4MM's published structure module.
  ``nn.MultiheadAttention`` only for its head-averaged probabilities, the graph mask applied
  *after* the softmax with a broadcast that mixes every sample's attention into every other
  sample's diffusion matrix, explicit matrix powers, no residual.

:func:`published_gsit_from_ours` maps a depth-tied :class:`~hf_graph4mm.GsiTForSequenceClassification`
onto :class:`PublishedGsiT` (our q/k/v Linear layers stacked into ``in_proj``);
:func:`with_double_scaled_queries` gives our model the published double query scaling.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from hf_graph4mm.graph_batch import SubgraphInputs

MODALITIES = ("text", "vision", "audio")  # the segment order of the concatenated sequence
# for each query segment, the key segment it attends to (text=0, vision=1, audio=2)
PATTERNS = {"forward": (1, 2, 0), "backward": (2, 0, 1), "self": (0, 1, 2)}


class PublishedGsiTAttention(nn.Module):
    """Segment-pair attention with one stacked ``in_proj`` and the double query scaling.

    Args:
        width: model width; num_heads: heads (width must divide).
        double_scaling: True = published (scores scaled by ``1/head_dim`` in total); False
            scales once (``1/sqrt(head_dim)``), which is what our model and the paper do.
    """

    def __init__(self, width: int, num_heads: int, double_scaling: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = width // num_heads
        self.scaling = self.head_dim**-0.5
        self.double_scaling = double_scaling
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(
        self, hidden: torch.Tensor, segment_lengths: Sequence[int], pattern: Sequence[int]
    ) -> torch.Tensor:
        """``hidden: [batch, T, width]`` (T = sum of segment lengths) -> ``[batch, T, width]``."""
        batch, total, width = hidden.shape
        query, key, value = F.linear(hidden, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        query = query * self.scaling  # first scaling, in the projection

        def heads(states: torch.Tensor) -> torch.Tensor:  # [batch, T, width] -> [batch * heads, T, head_dim]
            return (
                states.view(batch, total, self.num_heads, self.head_dim)
                .transpose(1, 2)
                .reshape(batch * self.num_heads, total, self.head_dim)
            )

        queries, keys, values = (heads(t).split(list(segment_lengths), dim=1) for t in (query, key, value))
        outputs = []
        for query_segment, key_segment in enumerate(pattern):
            scores = torch.bmm(queries[query_segment], keys[key_segment].transpose(1, 2))
            if self.double_scaling:
                scores = scores * self.scaling  # second scaling, inside the attention
            outputs.append(torch.bmm(torch.softmax(scores, dim=-1), values[key_segment]))
        attended = torch.cat(outputs, dim=1)  # [batch * heads, T, head_dim], segments back in order
        attended = attended.view(batch, self.num_heads, total, self.head_dim).transpose(1, 2)
        return self.out_proj(attended.reshape(batch, total, width))


class PublishedGsiTLayer(nn.Module):
    """Pre-LN layer: ``x + drop(Attn(LN(x)))``, then ``x + drop(fc2(drop(GELU(fc1(LN(x))))))``."""

    def __init__(self, width, num_heads, residual_dropout, activation_dropout, double_scaling=True):
        super().__init__()
        self.attention_norm = nn.LayerNorm(width)
        self.attention = PublishedGsiTAttention(width, num_heads, double_scaling)
        self.ffn_norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, width)
        self.residual_dropout = residual_dropout
        self.activation_dropout = activation_dropout

    def forward(self, hidden, segment_lengths, pattern):
        attended = self.attention(self.attention_norm(hidden), segment_lengths, pattern)
        hidden = hidden + F.dropout(attended, self.residual_dropout, self.training)
        transformed = F.dropout(
            F.gelu(self.fc1(self.ffn_norm(hidden))), self.activation_dropout, self.training
        )
        return hidden + F.dropout(self.fc2(transformed), self.residual_dropout, self.training)


class PublishedGsiTEncoder(nn.Module):
    """sqrt(width) scaling, embedding dropout, one layer object applied ``num_layers`` times, final LayerNorm."""

    def __init__(
        self,
        width,
        num_heads,
        num_layers,
        embedding_dropout,
        residual_dropout,
        activation_dropout,
        double_scaling=True,
    ):
        super().__init__()
        self.num_layers = num_layers
        self.embed_scale = math.sqrt(width)
        self.embedding_dropout = embedding_dropout
        self.layer = PublishedGsiTLayer(
            width, num_heads, residual_dropout, activation_dropout, double_scaling
        )
        self.final_norm = nn.LayerNorm(width)

    def forward(self, hidden, segment_lengths, pattern):
        hidden = F.dropout(self.embed_scale * hidden, self.embedding_dropout, self.training)
        for _ in range(self.num_layers):  # depth-tied: the same module at every depth
            hidden = self.layer(hidden, segment_lengths, pattern)
        return self.final_norm(hidden)


class PublishedGsiT(nn.Module):
    """The published GsiT regression model (BERT features in; BERT itself not included).

    Conv1d projections (no padding, no bias) to ``d``; forward and backward passes at ``d``
    concatenated to ``2d``; self pass at ``2d``; head on the last step of each segment
    (``6d`` -> ``d`` -> ReLU -> 1). No padding mask anywhere: every step counts as real.

    The dropout rates default to the published MOSI setting (our :class:`~hf_graph4mm.GsiTConfig`'s:
    embedding 0.2, text 0.5 on the text features before the conv, residual, activation and head 0),
    so the timings compare the same work; attention dropout is absent, as published. The head's
    dropout (``post_fusion_dropout``) comes before its first Linear, as published.
    """

    def __init__(
        self,
        text_dim=768,
        audio_dim=5,
        vision_dim=20,
        hidden_size=128,
        num_heads=4,
        num_layers=4,
        kernel_size=5,
        embedding_dropout=0.2,
        residual_dropout=0.0,
        activation_dropout=0.0,
        double_scaling=True,
        text_dropout=0.5,
        output_dropout=0.0,
    ):
        super().__init__()
        self.text_dropout, self.output_dropout = text_dropout, output_dropout
        dims = {"text": text_dim, "vision": vision_dim, "audio": audio_dim}
        self.projections = nn.ModuleDict(
            {m: nn.Conv1d(dims[m], hidden_size, kernel_size, padding=0, bias=False) for m in MODALITIES}
        )
        drops = (embedding_dropout, residual_dropout, activation_dropout)
        self.forward_pass = PublishedGsiTEncoder(hidden_size, num_heads, num_layers, *drops, double_scaling)
        self.backward_pass = PublishedGsiTEncoder(hidden_size, num_heads, num_layers, *drops, double_scaling)
        self.self_pass = PublishedGsiTEncoder(2 * hidden_size, num_heads, num_layers, *drops, double_scaling)
        self.dense = nn.Linear(6 * hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, 1)

    def forward(self, text_features, audio_features, vision_features) -> torch.Tensor:
        """``*_features: [batch, T_m, dim_m]`` (no padding) -> ``[batch, 1]`` predictions."""
        text_features = F.dropout(text_features, self.text_dropout, self.training)
        features = {"text": text_features, "vision": vision_features, "audio": audio_features}
        streams = [self.projections[m](features[m].transpose(1, 2)).transpose(1, 2) for m in MODALITIES]
        lengths = [s.shape[1] for s in streams]
        sequence = torch.cat(streams, dim=1)  # [batch, T, d]
        both = torch.cat(
            [
                self.forward_pass(sequence, lengths, PATTERNS["forward"]),
                self.backward_pass(sequence, lengths, PATTERNS["backward"]),
            ],
            dim=-1,
        )  # [batch, T, 2d]
        fused = self.self_pass(both, lengths, PATTERNS["self"])
        last_steps = torch.cat(
            [segment[:, -1] for segment in fused.split(lengths, dim=1)], dim=-1
        )  # [batch, 6d]
        last_steps = F.dropout(last_steps, self.output_dropout, self.training)
        return self.out_proj(F.relu(self.dense(last_steps)))


def published_gsit_from_ours(ours, double_scaling: bool = True) -> PublishedGsiT:
    """A :class:`PublishedGsiT` holding the weights of our depth-tied ``GsiTForSequenceClassification``.

    Our q/k/v ``Linear`` layers become the rows of ``in_proj`` (q first, then k, then v), our
    ``o_proj`` becomes ``out_proj``; everything else maps by position. Dropout rates follow our config.

    Raises:
        ValueError: our model is not the published shape (untied layers, MulT fusion, a text
            encoder, other than one regression output, unequal conv kernels).
    """
    config = ours.config
    kernels = set(config.kernel_sizes.values())
    problems = [
        (not config.tie_layers, "tie_layers must be True (the published layers are depth-tied)"),
        (config.fusion != "interlaced", "fusion must be 'interlaced'"),
        (
            config.text_encoder_config is not None,
            "the published model takes text features, not a text encoder",
        ),
        (config.num_labels != 1, "the published head has one regression output"),
        (len(kernels) != 1, f"the published convs share one kernel size, got {config.kernel_sizes}"),
    ]
    for failed, message in problems:
        if failed:
            raise ValueError(f"cannot map this GsiT onto the published one: {message}")
    published = PublishedGsiT(
        config.text_dim,
        config.audio_dim,
        config.vision_dim,
        config.hidden_size,
        config.num_attention_heads,
        config.num_layers,
        kernels.pop(),
        config.embedding_dropout,
        config.residual_dropout,
        config.activation_dropout,
        double_scaling,
        text_dropout=config.text_dropout,
        output_dropout=config.output_dropout,
    ).to(next(ours.parameters()).dtype)  # before loading: a float32 copy would round float64 weights
    source = ours.state_dict()
    target = {}
    for m in MODALITIES:
        target[f"projections.{m}.weight"] = source[f"model.projections.{m}.conv.weight"]
    for name in ("forward_pass", "backward_pass", "self_pass"):
        ours_prefix, layer = f"model.fusion.{name}.layers.0.", f"{name}.layer."
        attention = ours_prefix + "attention."
        for kind in ("weight", "bias"):
            target[f"{layer}attention.in_proj_{kind}"] = torch.cat(
                [source[f"{attention}{p}_proj.{kind}"] for p in "qkv"]
            )
            target[f"{layer}attention.out_proj.{kind}"] = source[f"{attention}o_proj.{kind}"]
            for module in ("attention_norm", "ffn_norm", "fc1", "fc2"):
                target[f"{layer}{module}.{kind}"] = source[f"{ours_prefix}{module}.{kind}"]
            target[f"{name}.final_norm.{kind}"] = source[f"model.fusion.{name}.final_norm.{kind}"]
    for kind in ("weight", "bias"):
        target[f"dense.{kind}"] = source[f"head.dense.{kind}"]
        target[f"out_proj.{kind}"] = source[f"head.out_proj.{kind}"]
    published.load_state_dict(target)  # strict: every published weight is given, nothing left over
    return published


def with_double_scaled_queries(ours):
    """A copy of our GsiT whose every q projection carries an extra ``1/sqrt(head_dim)`` of its
    attention (the self pass's head_dim is twice the others'): our scores, scaled by
    ``1/sqrt(head_dim)``, then scale by ``1/head_dim`` in total, as the published code does."""
    scaled = copy.deepcopy(ours)
    with torch.no_grad():
        for module in scaled.modules():
            if hasattr(module, "q_proj") and hasattr(module, "head_dim"):
                module.q_proj.weight.mul_(module.head_dim**-0.5)
                module.q_proj.bias.mul_(module.head_dim**-0.5)
    return scaled


class PublishedAttentionDiffusion(nn.Module):
    """Graph4MM's published ``AttentionDiffusion`` (batch mixing, post-softmax mask, no residual).

    Args:
        width, num_heads: of the ``nn.MultiheadAttention`` whose probabilities are used.
        steps: number of series terms, ``i = 0..steps-1`` (published steps 4 = our ``K = 3``).
        alpha: teleport weight.
    """

    def __init__(self, width: int = 768, num_heads: int = 12, steps: int = 4, alpha: float = 0.1):
        super().__init__()
        self.attention = nn.MultiheadAttention(width, num_heads, batch_first=True)
        self.steps = steps
        self.alpha = alpha

    def forward(self, hidden: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """``hidden: [B, N, width]``, ``graph: [B, N, N]`` (0/1, float) -> ``[B, N, width]``."""
        _, probs = self.attention(hidden, hidden, hidden)  # need_weights=True: [B, N, N], head-averaged
        masked = probs * graph.unsqueeze(1).to(
            probs.dtype
        )  # [B, B, N, N]: sample j's P under sample i's graph
        masked = masked / (masked.sum(dim=-1, keepdim=True) + 1e-9)
        mixed = masked.mean(dim=1)  # [B, N, N]: averaged over every sample's attention
        diffusion = sum(
            self.alpha * (1 - self.alpha) ** i * torch.linalg.matrix_power(mixed, i)
            for i in range(self.steps)
        )
        return torch.bmm(diffusion, hidden)


class PublishedStructureAdapter(nn.Module):
    """:class:`PublishedAttentionDiffusion` behind our structure-module call signature.

    ``forward(hidden [B, N, d], subgraph) -> [B, N, d]`` with ``subgraph.adjacency [B, N, N]`` bool; the
    published module knows no node mask (padded slots take part), so none is applied.
    """

    def __init__(self, width: int, num_heads: int, steps: int = 4, alpha: float = 0.1):
        super().__init__()
        self.diffusion = PublishedAttentionDiffusion(width, num_heads, steps, alpha)

    def forward(self, hidden, subgraph):
        return self.diffusion(hidden, subgraph.adjacency.to(hidden.dtype))


@torch.no_grad()
def cross_sample_shift(
    structure: nn.Module, hidden: torch.Tensor, adjacency: torch.Tensor, **kwargs
) -> float:
    """How far sample 0's output moves when only sample 1's features change (0 = no batch mixing).

    Args:
        structure: a module with our structure-module signature (e.g. :class:`PublishedStructureAdapter`).
        hidden: ``[B >= 2, N, d]``; adjacency: ``[B, N, N]`` bool; kwargs: extra forward arguments.
    """
    batch, nodes, _ = hidden.shape
    changed = hidden.clone()
    changed[1] += torch.randn(
        hidden.shape[1:], generator=torch.Generator().manual_seed(0), dtype=hidden.dtype
    )
    mask, hops = torch.ones(batch, nodes, dtype=torch.bool), torch.zeros(batch, nodes, dtype=torch.long)
    subgraph = SubgraphInputs("text", mask, adjacency, hops)
    before = structure(hidden, subgraph, **kwargs)[0]
    after = structure(changed, subgraph, **kwargs)[0]
    return float((after - before).abs().max())


if __name__ == "__main__":  # a module, not a benchmark: --help says so, and so does a plain run
    import argparse

    argparse.ArgumentParser(
        description=__doc__,
        epilog="A module imported by benchmarks/published_baselines.py; it runs nothing itself.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args()
    print(
        "benchmarks/published_reference.py is a module imported by benchmarks/published_baselines.py; it runs nothing itself"
    )
