"""Ragged sentiment feature sequences -> one right-padded GsiT batch, checked sample by sample.

A row (one utterance) holds one ``[time, dim]`` sequence per modality, of any length: under
``text_features`` / ``audio_features`` / ``vision_features`` (or plain ``text`` / ``audio`` /
``vision``), as numpy arrays, tensors or nested lists. Rows may carry ``*_lengths`` (the real steps
of a sequence stored padded, as the MMSA layout does): the sequence is cut to that length first. A
text encoder model reads ``input_ids`` (``attention_mask`` / ``token_type_ids``) instead of text
features. ``labels`` (or ``label``) is a score (regression) or a class id.

The batch (what ``GsiTForSequenceClassification.forward`` takes): ``{m}_features [batch, T_m, dim]``
float32, zero after each sample's real steps, and ``{m}_lengths [batch]`` long, the real steps; token
ids are padded with 0 and their ``attention_mask`` marks the real ones. ``T_m`` is the longest
sample of the batch for each modality.

Refused with a ``ValueError`` naming the sample (its ``id``, else its position in the batch) and the
field: a sequence that is not ``[time, dim]`` numbers, a ``dim`` other than the model's, NaN or
+-inf values, no steps, fewer steps than the modality's conv kernel (``min_lengths``; the model's
Conv1d has no padding, so a shorter sequence has no complete window), a length outside the stored
sequence.

Only numpy and torch are imported here: processing knows nothing of modeling (a config is read by
its attribute names).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

MODALITIES = ("text", "audio", "vision")
TOKEN_COLUMNS = ("input_ids", "attention_mask", "token_type_ids")
LABEL_COLUMNS = ("labels", "label")


def sample_name(row: Mapping[str, Any], index: int) -> str:
    """How an error names a row: its ``id`` when it has one, and its position in the batch."""
    if row.get("id") is not None:
        return f"sample {str(row['id'])!r} (row {index} of the batch)"
    return f"sample #{index} of the batch"


def feature_column(row: Mapping[str, Any], modality: str) -> tuple[str, Any]:
    """``(column name, value)`` of a modality's features: ``{m}_features``, else ``{m}`` (None if neither)."""
    for name in (f"{modality}_features", modality):
        if row.get(name) is not None:
            return name, row[name]
    return f"{modality}_features", None


def check_sequence(
    value: Any,
    *,
    where: str,
    field: str,
    dim: int | None = None,
    min_length: int = 1,
    length: Any = None,
) -> torch.Tensor:
    """One modality's sequence as a ``[time, dim]`` float32 tensor, cut to ``length`` real steps.

    Args:
        value: array, tensor or nested lists of numbers.
        where: the sample, for the error (``sample 'a' (row 0 of the batch)``).
        field: the column, for the error (``audio_features``).
        dim: the feature width the model expects (None: not checked).
        min_length: fewer real steps is an error (the modality's conv kernel; at least 1).
        length: the real steps of a padded sequence (None: every step is real).

    Raises:
        ValueError: naming ``where`` and ``field``: not numbers, not 2-D, the wrong width, a length outside
            the stored steps, too few steps, NaN or infinite values in the real steps.
    """
    try:
        if isinstance(value, torch.Tensor):
            matrix = value.detach().to("cpu", torch.float32)
        else:
            matrix = torch.from_numpy(np.asarray(value, dtype=np.float32))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {field} must be a [time, dim] array of numbers ({error})") from None
    shown_dim = dim if dim is not None else "dim"
    if matrix.dim() == 1 and matrix.numel() == 0:  # an empty list: no steps (its width cannot show)
        matrix = matrix.reshape(0, dim or 0)
    if matrix.dim() != 2:
        raise ValueError(f"{where}: {field} must be [time, {shown_dim}], got shape {list(matrix.shape)}")
    if dim is not None and matrix.shape[1] != dim and matrix.shape[0]:
        raise ValueError(
            f"{where}: {field} has {matrix.shape[1]} features per step; the model expects {dim} "
            f"([time, {dim}])"
        )
    if length is not None:
        length = int(length)
        if not 0 <= length <= matrix.shape[0]:
            raise ValueError(
                f"{where}: {field.replace('_features', '')}_lengths = {length} is outside [0, {matrix.shape[0]}] "
                f"(the stored steps of {field})"
            )
        matrix = matrix[:length]
    steps = matrix.shape[0]
    if steps == 0:
        raise ValueError(
            f"{where}: {field} is empty (0 time steps); every modality needs at least one step (drop the sample; "
            "hf-graph4mm train does with --skip_empty_sequences true)"
        )
    if steps < min_length:
        raise ValueError(
            f"{where}: {field} has {steps} time steps, fewer than the model's conv kernel ({min_length}) "
            "for this modality; pad it to that length or drop the sample"
        )
    finite = torch.isfinite(matrix)
    if not bool(finite.all()):
        step = int((~finite).any(dim=1).nonzero()[0, 0])
        raise ValueError(
            f"{where}: {field} holds NaN or infinite values (first at step {step}); replace them (e.g. with 0)"
        )
    return matrix


def pad_sequences(
    sequences: Sequence[torch.Tensor], pad_value: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``[time_i, ...]`` tensors -> ``[batch, max time, ...]`` right-padded with ``pad_value``, ``[batch]`` lengths."""
    lengths = torch.tensor([len(sequence) for sequence in sequences], dtype=torch.long)
    padded = torch.nn.utils.rnn.pad_sequence(list(sequences), batch_first=True, padding_value=pad_value)
    return padded, lengths


def _labels(rows: Sequence[Mapping[str, Any]]) -> torch.Tensor | None:
    present = [next((row[c] for c in LABEL_COLUMNS if row.get(c) is not None), None) for row in rows]
    if all(label is None for label in present):
        return None
    for index, label in enumerate(present):
        if label is None:
            raise ValueError(
                f"{sample_name(rows[index], index)} has no label while others in the batch have one"
            )
    values = np.asarray([np.asarray(label).reshape(-1)[0] for label in present])
    if np.issubdtype(values.dtype, np.integer):
        return torch.as_tensor(values, dtype=torch.long)
    labels = torch.as_tensor(values.astype(np.float32))
    if not bool(torch.isfinite(labels).all()):
        index = int((~torch.isfinite(labels)).nonzero()[0, 0])
        raise ValueError(f"{sample_name(rows[index], index)}: labels is NaN or infinite")
    return labels


class GsiTCollator:
    """A ``DataCollator`` for ``Trainer`` (and ``DataLoader``): ragged GsiT rows -> a padded, checked batch.

    Args:
        feature_dims: ``{"text": dim, "audio": dim, "vision": dim}`` the model expects (None: not checked).
        min_lengths: ``{modality: fewest steps}``; default 1 (no empty sequence). :meth:`from_config` sets the
            model's conv kernels.
        text_encoder: the model reads ``input_ids`` (padded with ``pad_token_id``) instead of text features.

    Example::

        collator = GsiTCollator.from_config(model.config)
        batch = collator([{"text": t, "audio": a, "vision": v, "labels": 0.4}, ...])
        model(**batch).loss
    """

    def __init__(
        self,
        feature_dims: Mapping[str, int] | None = None,
        min_lengths: Mapping[str, int] | None = None,
        text_encoder: bool = False,
        pad_token_id: int = 0,
    ):
        self.feature_dims = dict(feature_dims or {})
        self.min_lengths = {m: 1 for m in MODALITIES}
        for modality, minimum in (min_lengths or {}).items():
            if modality not in MODALITIES:
                raise ValueError(f"min_lengths names {modality!r}; modalities are {MODALITIES}")
            self.min_lengths[modality] = max(1, int(minimum))
        self.text_encoder = text_encoder
        self.pad_token_id = pad_token_id

    @classmethod
    def from_config(cls, config, **kwargs) -> GsiTCollator:
        """The collator for a ``GsiTConfig``: its feature dims, its conv kernels as the fewest steps."""
        text_encoder = getattr(config, "text_encoder_config", None) is not None
        dims = {m: getattr(config, f"{m}_dim") for m in MODALITIES if not (m == "text" and text_encoder)}
        kernels = {m: getattr(config, f"{m}_kernel_size", 1) for m in MODALITIES}
        return cls(feature_dims=dims, min_lengths=kernels, text_encoder=text_encoder, **kwargs)

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if not rows:
            raise ValueError("cannot collate an empty batch")
        modalities = ("audio", "vision") if self.text_encoder else MODALITIES
        batch: dict[str, torch.Tensor] = {}
        for modality in modalities:
            sequences = []
            for index, row in enumerate(rows):
                column, value = feature_column(row, modality)
                where = sample_name(row, index)
                if value is None:
                    hint = ""
                    if not any(feature_column(row, m)[1] is not None for m in MODALITIES):
                        hint = (
                            " (with transformers.Trainer, set remove_unused_columns=False: it drops columns that "
                            "forward() does not name, such as text / audio / vision / id)"
                        )
                    raise ValueError(
                        f"{where} has no {modality}_features (or {modality}) column; it has {sorted(row)}{hint}"
                    )
                sequences.append(
                    check_sequence(
                        value,
                        where=where,
                        field=column if column.endswith("_features") else f"{modality}_features",
                        dim=self.feature_dims.get(modality),
                        min_length=self.min_lengths[modality],
                        length=row.get(f"{modality}_lengths"),
                    )
                )
            batch[f"{modality}_features"], batch[f"{modality}_lengths"] = pad_sequences(sequences)
        if self.text_encoder:
            batch.update(self._tokens(rows))
        labels = _labels(rows)
        if labels is not None:
            batch["labels"] = labels
        return batch

    def _tokens(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        """``input_ids`` (and ``token_type_ids``) cut to each row's real tokens and padded again, with the mask."""
        ids, types = [], []
        for index, row in enumerate(rows):
            if row.get("input_ids") is None:
                raise ValueError(
                    f"{sample_name(row, index)} has no input_ids; this model reads text as token ids"
                )
            tokens = torch.as_tensor(np.asarray(row["input_ids"]), dtype=torch.long).reshape(-1)
            mask = row.get("attention_mask")
            real = int(np.asarray(mask).sum()) if mask is not None else len(tokens)
            if real < self.min_lengths["text"]:
                raise ValueError(
                    f"{sample_name(row, index)}: input_ids has {real} real tokens, fewer than the model's text "
                    f"conv kernel ({self.min_lengths['text']})"
                )
            ids.append(tokens[:real])
            if row.get("token_type_ids") is not None:
                types.append(
                    torch.as_tensor(np.asarray(row["token_type_ids"]), dtype=torch.long).reshape(-1)[:real]
                )
        batch = {}
        batch["input_ids"], lengths = pad_sequences(ids, self.pad_token_id)
        batch["attention_mask"] = (torch.arange(batch["input_ids"].shape[1])[None] < lengths[:, None]).long()
        if len(types) == len(ids):
            batch["token_type_ids"] = pad_sequences(types)[0]
        return batch
