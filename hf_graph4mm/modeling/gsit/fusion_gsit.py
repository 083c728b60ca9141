"""The two fusion strategies over the projected modalities: GsiT's interlaced passes and MulT's.

Both take the three projected sequences in the order ``MODALITIES`` and return, per modality,
a ``2 * hidden_size`` sequence whose first half came from the modality's forward partner and
second half from its backward partner:

    forward  pairs: text <- vision, vision <- audio, audio <- text
    backward pairs: text <- audio,  vision <- text,  audio <- vision
"""

from __future__ import annotations

import torch
from torch import nn

from ...kernels import NAMED_PATTERNS
from .configuration_gsit import GsiTConfig
from .layers_gsit import GsiTEncoder

MODALITIES = ("text", "vision", "audio")
FORWARD_SOURCE = {MODALITIES[i]: MODALITIES[j] for i, j in enumerate(NAMED_PATTERNS["forward"])}
BACKWARD_SOURCE = {MODALITIES[i]: MODALITIES[j] for i, j in enumerate(NAMED_PATTERNS["backward"])}


def padding_mask(lengths: torch.Tensor, time: int) -> torch.Tensor:
    """``[batch, time]`` bool, True on the first ``lengths[b]`` steps."""
    return torch.arange(time, device=lengths.device)[None, :] < lengths[:, None]


class InterlacedFusion(nn.Module):
    """GsiT: three shared-weight passes over [text; vision; audio] under the Interlaced Mask.

    Forward and backward passes (width d, separate weights) cover the six directed modality
    pairs; their outputs are concatenated to 2d and a self pass (block-diagonal mask) plays
    the role of MulT's three memory transformers.
    """

    def __init__(self, config: GsiTConfig):
        super().__init__()
        self.forward_pass = GsiTEncoder(config, config.hidden_size)
        self.backward_pass = GsiTEncoder(config, config.hidden_size)
        self.self_pass = GsiTEncoder(config, 2 * config.hidden_size)

    def forward(self, streams: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor]) -> dict:
        """``streams[m]: [batch, T_m, d]``, ``lengths[m]: [batch]`` -> ``{m: [batch, T_m, 2d]}``."""
        segment_lengths = [streams[m].shape[1] for m in MODALITIES]
        sequence = torch.cat([streams[m] for m in MODALITIES], dim=1)  # [batch, T, d]
        key_padding_mask = torch.cat([padding_mask(lengths[m], streams[m].shape[1]) for m in MODALITIES], 1)
        common = {"segment_lengths": segment_lengths, "key_padding_mask": key_padding_mask}
        forward_out = self.forward_pass(sequence, pattern="forward", **common)
        backward_out = self.backward_pass(sequence, pattern="backward", **common)
        fused = self.self_pass(torch.cat([forward_out, backward_out], dim=-1), pattern="self", **common)
        return dict(zip(MODALITIES, fused.split(segment_lengths, dim=1)))


class MulTFusion(nn.Module):
    """MulT: one cross-modal transformer per ordered pair, one memory transformer per modality."""

    def __init__(self, config: GsiTConfig):
        super().__init__()
        pairs = [(m, FORWARD_SOURCE[m]) for m in MODALITIES] + [(m, BACKWARD_SOURCE[m]) for m in MODALITIES]
        self.cross_modal = nn.ModuleDict(
            {f"{target}_from_{source}": GsiTEncoder(config, config.hidden_size) for target, source in pairs}
        )
        self.memory = nn.ModuleDict({m: GsiTEncoder(config, 2 * config.hidden_size) for m in MODALITIES})

    def forward(self, streams: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor]) -> dict:
        """``streams[m]: [batch, T_m, d]``, ``lengths[m]: [batch]`` -> ``{m: [batch, T_m, 2d]}``."""
        masks = {m: padding_mask(lengths[m], streams[m].shape[1]) for m in MODALITIES}
        fused = {}
        for target in MODALITIES:
            halves = [
                self.cross_modal[f"{target}_from_{source}"](
                    streams[target], streams[source], key_padding_mask=masks[source]
                )
                for source in (FORWARD_SOURCE[target], BACKWARD_SOURCE[target])
            ]
            fused[target] = self.memory[target](torch.cat(halves, dim=-1), key_padding_mask=masks[target])
        return fused
