"""The layout of an interlaced batch, planned once per forward and handed to every layer and kernel.

A batch of right-padded modality sequences, concatenated along time, is ``[batch, T, width]`` with
``T = sum(segment_lengths)``. Its layout says where each segment lies, which steps are real (the
key padding mask), whether some sample has no real key in a segment, and which flat positions
``b * T + t`` hold real steps (``rows``): per-step work (projections, FFN, norms) then runs on the
real rows only, ``[N, width]``, and :meth:`unpack` / :meth:`pack` move between the two layouts with
the same index every layer. Backends keep what they derive from it (a block mask, a mask in another
dtype) in :meth:`cached`, so nothing is rebuilt per layer or per pass.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import torch


@dataclass(eq=False)
class InterlacedLayout:
    """Attributes:
        segment_lengths: padded length of each segment, e.g. ``(T_text, T_vision, T_audio)``.
        key_padding_mask: ``[batch, T]`` bool, True = real step; None = every step is real.
        segment_lacks_key: per segment, whether some sample has no real step in it (known on the host,
            so backends branch without a device sync).
        rows: ``[N]`` long, the flat positions ``b * T + t`` of the real steps in order; None = every
            position is a row (no padding, or a graph traced by torch.compile / torch.export, where the
            number of real steps is not known ahead of time and padded rows are computed and ignored).
        real_lengths: ``[segments, batch]`` long real lengths (when planned from lengths).
        host_lengths: the same lengths as Python ints, ``[segments][batch]``, when known without a
            device sync (planned from lengths outside a traced graph); None otherwise.
    """

    segment_lengths: tuple[int, ...]
    key_padding_mask: torch.Tensor | None = None
    segment_lacks_key: tuple[bool, ...] = ()
    rows: torch.Tensor | None = None
    real_lengths: torch.Tensor | None = None
    host_lengths: tuple[tuple[int, ...], ...] | None = None
    _memo: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.segment_lengths = tuple(int(length) for length in self.segment_lengths)
        if not self.segment_lacks_key:
            self.segment_lacks_key = (False,) * len(self.segment_lengths)
        # each segment's [batch, T_s] slice of the key padding mask (views; None without a mask)
        self.segment_key_masks: tuple[torch.Tensor | None, ...] = (None,) * len(self.segment_lengths)
        if self.key_padding_mask is not None:
            self.segment_key_masks = tuple(self.key_padding_mask.split(list(self.segment_lengths), dim=-1))

    @classmethod
    def from_key_padding_mask(
        cls, segment_lengths: Sequence[int], key_padding_mask: torch.Tensor | None = None
    ) -> InterlacedLayout:
        """The layout the kernels need, from a ``[batch, T]`` mask (one host sync to find empty segments)."""
        if key_padding_mask is None:
            return cls(tuple(segment_lengths))
        masks = key_padding_mask.split(list(segment_lengths), dim=-1)
        lacks = torch.stack([~mask.any(dim=-1).all() for mask in masks]).tolist() if masks else []
        return cls(tuple(segment_lengths), key_padding_mask, tuple(bool(flag) for flag in lacks))

    @classmethod
    def from_lengths(
        cls,
        segment_lengths: Sequence[int],
        real_lengths: torch.Tensor,
        host_lengths: Sequence[Sequence[int]] | None = None,
    ) -> InterlacedLayout:
        """Plan a batch from each segment's real lengths.

        Args:
            segment_lengths: padded length of each segment.
            real_lengths: ``[segments, batch]`` long, on the batch's device.
            host_lengths: the same numbers as Python ints, when the caller has them (one host sync
                upstream); without them (inside a traced graph) the layout keeps every position as a row
                and assumes a segment may lack a key.
        """
        positions = [torch.arange(length, device=real_lengths.device) for length in segment_lengths]
        mask = torch.cat(
            [position[None, :] < lengths[:, None] for position, lengths in zip(positions, real_lengths)], dim=1
        )
        if host_lengths is None:
            lacks = (True,) * len(segment_lengths)
            return cls(tuple(segment_lengths), mask, lacks, None, real_lengths)
        host_lengths = tuple(tuple(int(n) for n in lengths) for lengths in host_lengths)
        lacks = tuple(min(lengths) == 0 for lengths in host_lengths)
        real = sum(sum(lengths) for lengths in host_lengths)
        rows = None
        if real != mask.numel():  # with a known count, finding the rows needs no sync of its own
            rows = torch.nonzero_static(mask.reshape(-1), size=real).squeeze(1)
        return cls(tuple(segment_lengths), mask, lacks, rows, real_lengths, host_lengths)

    @property
    def total(self) -> int:
        return sum(self.segment_lengths)

    @property
    def batch(self) -> int:
        return self.key_padding_mask.shape[0]

    def cached(self, key: Hashable, build: Callable[[], object]) -> object:
        """``build()`` the first time ``key`` is asked for on this layout, the same object afterwards."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def pack(self, padded: torch.Tensor) -> torch.Tensor:
        """``[batch, T, width]`` -> ``[N, width]``: the rows."""
        flat = padded.reshape(self.batch * self.total, -1)
        return flat if self.rows is None else flat.index_select(0, self.rows)

    def unpack(self, packed: torch.Tensor, zero_padding: bool = False) -> torch.Tensor:
        """``[N, width]`` -> ``[batch, T, width]``.

        With ``rows``, padding is zero. Without (every position a row) the padded positions hold
        whatever was computed there; ``zero_padding`` zeroes them, for outputs a caller reads.
        """
        if self.rows is None:
            padded = packed.view(self.batch, self.total, -1)
            if zero_padding and self.key_padding_mask is not None:
                padded = torch.where(self.key_padding_mask[..., None], padded, torch.zeros((), dtype=padded.dtype))
            return padded
        padded = packed.new_zeros(self.batch * self.total, packed.shape[-1])
        return padded.index_copy(0, self.rows, packed).view(self.batch, self.total, -1)

    @property
    def blocks(self) -> tuple[int, ...] | None:
        """The rows as blocks: the real steps of sample ``b``'s segment ``s`` are the ``b * S + s``-th
        block of ``rows`` (sample-major, each block contiguous). None without ``rows`` or host lengths."""
        if self.rows is None or self.host_lengths is None:
            return None
        return self.cached(
            "blocks", lambda: tuple(n for sample in zip(*self.host_lengths) for n in sample)
        )

    def score_entries(self, pattern: tuple[int, ...]) -> tuple[int, int]:
        """``(padded, real)``: how many query-key scores one head computes under ``pattern`` over the padded
        segments, and over each sample's real steps only (needs host lengths)."""
        lengths, batch = self.host_lengths, self.batch
        padded = batch * sum(self.segment_lengths[s] * self.segment_lengths[k] for s, k in enumerate(pattern))
        real = sum(lengths[s][b] * lengths[k][b] for s, k in enumerate(pattern) for b in range(batch))
        return padded, real

    def last_rows(self) -> torch.Tensor:
        """``[segments * batch]`` long: the row of each sample's last real step in each segment,
        segment-major (what a head that reads one step per modality needs; every length must be >= 1)."""
        lengths = self.real_lengths  # [S, B]
        if self.rows is None:
            starts = torch.tensor([0, *self.segment_lengths[:-1]], device=lengths.device).cumsum(0)
            sample_offset = torch.arange(lengths.shape[1], device=lengths.device) * self.total
            return (sample_offset[None, :] + starts[:, None] + lengths - 1).reshape(-1)
        per_sample = lengths.sum(dim=0)  # [B] real rows of each sample
        sample_start = per_sample.cumsum(0) - per_sample
        segment_start = lengths.cumsum(0) - lengths  # [S, B] rows before segment s within the sample
        return (sample_start[None, :] + segment_start + lengths - 1).reshape(-1)
