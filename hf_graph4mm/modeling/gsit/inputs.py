"""GsiT's inputs: the three modality sequences, checked, and their real lengths read once.

Each modality comes right-padded with its real lengths (``*_lengths [batch]``), a mask (``*_mask
[batch, time]``, 1 = real, right padding only) or neither (all real). :func:`real_lengths` checks
them and reads every length to the host in ONE device sync, which plans the whole forward (which
rows are real, which segments can lack a key): no layer syncs again. Inside a graph traced by
``torch.compile`` / ``torch.export`` nothing is read back; the checks become runtime assertions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .layers import lengths_after_conv, padding_mask

# The concatenation order of the Interlaced Mask's segments (and of the fused representation).
MODALITIES = ("text", "vision", "audio")


@dataclass
class RealLengths:
    """Each modality's real steps: ``device`` ``{m: [batch] long}``, and ``host`` the same numbers as
    Python lists (None inside a traced graph)."""

    device: dict[str, torch.Tensor]
    host: dict[str, list[int]] | None

    def after_conv(self, kernel_sizes: dict[str, int]) -> RealLengths:
        """The lengths after each modality's unpadded conv (:func:`~.layers.lengths_after_conv`)."""
        device = {m: lengths_after_conv(self.device[m], kernel_sizes[m]) for m in MODALITIES}
        host = None
        if self.host is not None:
            host = {m: [max(n - kernel_sizes[m] + 1, 1) for n in self.host[m]] for m in MODALITIES}
        return RealLengths(device, host)

    def stacked(self) -> torch.Tensor:
        """``[3, batch]`` in :data:`MODALITIES` order."""
        return torch.stack([self.device[m] for m in MODALITIES])

    def host_stacked(self) -> list[list[int]] | None:
        return None if self.host is None else [self.host[m] for m in MODALITIES]

    def last_steps(self, sequences: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{m: [batch, T_m, width]}`` -> ``{m: [batch, width]}``: each sample's last real step."""
        return {
            m: sequences[m][torch.arange(sequences[m].shape[0], device=sequences[m].device), self.device[m] - 1]
            for m in sequences
        }


def check_features(features: dict[str, torch.Tensor | None], dims: dict[str, int]) -> None:
    """Every modality present as ``[batch, time, dim]`` with the config's dim, one batch size for all."""
    for m in MODALITIES:
        if features[m] is None:
            raise ValueError(f"{m}_features is missing: GsiT needs text, audio and vision inputs")
        if features[m].dim() != 3 or features[m].shape[-1] != dims[m]:
            raise ValueError(
                f"{m}_features must be [batch, time, {dims[m]}] ({m}_dim in the config), got {list(features[m].shape)}"
            )
    batch_sizes = {m: features[m].shape[0] for m in MODALITIES}
    for m in MODALITIES:
        if torch.compiler.is_compiling():  # a symbolic batch: a guard the compiler records
            torch._check(batch_sizes[m] == batch_sizes["text"])
        elif batch_sizes[m] != batch_sizes["text"]:
            raise ValueError(f"the modalities disagree on the batch size: {batch_sizes}")


@dataclass
class _Candidate:
    """One modality's lengths on the device, and per sample whether they are valid (None: nothing to check)."""

    lengths: torch.Tensor
    valid: torch.Tensor | None
    problem: str  # what an invalid sample is, worded for the error
    summary: str = ""  # the same without the sample, for a traced graph's assertion

    def message(self, sample: int, length: int) -> str:
        return self.problem.format(sample=sample, length=length)


def _candidate(name: str, features: torch.Tensor, lengths, mask) -> _Candidate:
    batch, time = features.shape[:2]
    device = features.device
    if lengths is not None and mask is not None:
        raise ValueError(f"give either {name}_lengths or {name}_mask, not both")
    if mask is not None:
        if tuple(mask.shape) != (batch, time):
            raise ValueError(f"{name}_mask has shape {list(mask.shape)}; expected [batch, time] = [{batch}, {time}]")
        mask = mask.to(device).bool()
        counts = mask.sum(dim=1)
        prefix = torch.arange(time, device=device)[None, :] < counts[:, None]
        problem = f"{name}_mask of sample {{sample}} is not right-padded: real steps must come first, padding last"
        summary = f"{name}_mask is not right-padded"
        return _Candidate(counts, (mask == prefix).all(dim=1), problem, summary)
    if lengths is None:
        return _Candidate(torch.full((batch,), time, dtype=torch.long, device=device), None, "")
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool or tuple(lengths.shape) != (batch,):
        raise ValueError(
            f"{name}_lengths must be an integer tensor of shape [{batch}], got {lengths.dtype} {list(lengths.shape)}"
        )
    problem = f"{name}_lengths[{{sample}}] = {{length}} is outside [0, {time}] (the padded length)"
    summary = f"{name}_lengths holds a length outside [0, padded length]"
    return _Candidate(lengths.long(), (lengths >= 0) & (lengths <= time), problem, summary)


def _content_checks(
    name: str, features: torch.Tensor, candidate: _Candidate
) -> list[tuple[torch.Tensor, str, str]]:
    """Per sample: at least one real step, and only finite values in the real steps (padding may hold
    anything: MMSA audio pads with -inf). ``(flags [batch] bool, problem, summary)`` each."""
    real = padding_mask(candidate.lengths.to(features.device), features.shape[1])
    finite = (torch.isfinite(features) | ~real[..., None]).flatten(1).all(dim=1)
    return [
        (
            candidate.lengths > 0,
            f"sample {{sample}} has no real {name} step ({name}_lengths or {name}_mask gives 0); GsiT needs at "
            "least one per modality: drop the sample or give it a step",
            f"a sample has no real {name} step",
        ),
        (
            finite,
            f"{name}_features of sample {{sample}} hold NaN or infinite values in its real steps; replace them "
            "(e.g. with 0) before the model",
            f"{name}_features hold NaN or infinite values",
        ),
    ]


def real_lengths(
    features: dict[str, torch.Tensor], lengths: dict[str, object], masks: dict[str, torch.Tensor | None]
) -> RealLengths:
    """Each modality's real lengths from its ``*_lengths``, its ``*_mask`` or neither, checked.

    Raises:
        ValueError: both lengths and mask given, a mask that is not right-padded, a length outside
            ``[0, time]``, or a malformed lengths tensor; a sample with no real step, or NaN / infinite
            values in its real steps (naming the modality and the sample). The checks ride on the
            forward's one device sync (compiled or exported: assertions in the graph).
    """
    candidates = {m: _candidate(m, features[m], lengths[m], masks[m]) for m in MODALITIES}
    device = features["text"].device
    # (flags [batch] bool, problem with {sample} / {length}, summary), in the order they are reported
    checks: list[tuple[str, torch.Tensor, str, str]] = []
    for m, candidate in candidates.items():
        if candidate.valid is not None:
            checks.append((m, candidate.valid, candidate.problem, candidate.summary))
    for m, candidate in candidates.items():
        checks.extend((m, *check) for check in _content_checks(m, features[m], candidate))
    if torch.compiler.is_compiling():  # an assertion in the graph: no host sync, no graph break
        for _, flags, _, summary in checks:
            torch._assert_async(flags.all(), summary)
        return RealLengths({m: c.lengths for m, c in candidates.items()}, None)
    # the forward's one device sync: every length and every check at once
    values = torch.stack(
        [*(c.lengths.to(device) for c in candidates.values()), *(f.to(device).long() for _, f, _, _ in checks)]
    )
    values = values.tolist()
    host_lengths = dict(zip(MODALITIES, values[: len(MODALITIES)]))
    for (m, _, problem, _), flag_row in zip(checks, values[len(MODALITIES) :]):
        if not all(flag_row):
            sample = flag_row.index(0)
            raise ValueError(problem.format(sample=sample, length=host_lengths[m][sample]))
    return RealLengths({m: c.lengths for m, c in candidates.items()}, host_lengths)
