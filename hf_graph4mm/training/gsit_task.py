"""GsiT / MulT fine-tuning pieces: data, model and metrics for ``Trainer``."""

from __future__ import annotations

import numpy as np

from .arguments import DataArguments, ModelArguments, limit_samples

# ModelArguments fields that set a GsiTConfig field of the same name (None: the preset's value)
GSIT_CONFIG_ARGUMENTS = ("hidden_size", "num_attention_heads", "num_layers", "tie_layers", "regression_loss")

# Columns of an MMSA dataset that GsiTForSequenceClassification.forward consumes.
GSIT_INPUT_COLUMNS = (
    "text_features",
    "input_ids",
    "attention_mask",
    "token_type_ids",
    "text_lengths",
    "audio_features",
    "audio_lengths",
    "vision_features",
    "vision_lengths",
    "labels",
)


def load_gsit_dataset(data_args: DataArguments):
    """The GsiT ``DatasetDict`` named by ``data_args`` (any layout :func:`~hf_graph4mm.data.layouts.open_dataset`
    reads: the bundled MOSI sample by default, an MMSA pickle, our parquet / arrow folders, your own features).

    Columns are named as ``forward``'s arguments (``text`` -> ``text_features``, ``label`` -> ``labels``),
    rows come as numpy arrays of any length; :class:`~hf_graph4mm.processing.GsiTCollator` pads and checks them.
    """
    from ..data.layouts import open_dataset

    dataset = open_dataset(data_args.dataset, family="gsit", raw_dir=data_args.raw_dir).splits
    columns = dataset[next(iter(dataset))].column_names
    renames = {
        m: f"{m}_features"
        for m in ("text", "audio", "vision")
        if m in columns and f"{m}_features" not in columns
    }
    if "label" in columns and "labels" not in columns:
        renames["label"] = "labels"
    if renames:
        dataset = dataset.rename_columns(renames)
        columns = [renames.get(c, c) for c in columns]
    missing = [f"{m}_features" for m in ("audio", "vision") if f"{m}_features" not in columns]
    if missing or ("text_features" not in columns and "input_ids" not in columns):
        raise ValueError(
            f"dataset {data_args.dataset!r} has columns {columns}; GsiT needs text / audio / vision features "
            "(text, audio, vision or text_features, audio_features, vision_features) and labels"
        )
    keep = [c for c in columns if c in GSIT_INPUT_COLUMNS or c == "id"]
    if "text_features" in keep:  # precomputed BERT features: the token ids would ask for a text encoder
        keep = [c for c in keep if c not in ("input_ids", "attention_mask", "token_type_ids")]
    dataset = dataset.select_columns(keep)
    if data_args.skip_empty_sequences:
        dataset = drop_empty_sequences(dataset)
    return limit_samples(dataset.with_format("numpy"), data_args)


def drop_empty_sequences(dataset):
    """Rows whose text, audio or vision has at least one real step (by ``*_lengths``, else the stored
    sequence); logs how many each split lost."""
    import logging

    def has_steps(row) -> bool:
        for modality in ("text", "audio", "vision"):
            length = row.get(f"{modality}_lengths")
            if length is None:
                value = row.get(f"{modality}_features")
                length = None if value is None else len(value)
            if length is not None and int(length) == 0:
                return False
        return True

    kept = dataset.filter(has_steps)
    for split in dataset:
        dropped = len(dataset[split]) - len(kept[split])
        if dropped:
            logging.getLogger(__name__).warning(
                "%s: dropped %d samples with an empty modality", split, dropped
            )
    return kept


def build_gsit_model(model_args: ModelArguments, train_split):
    """A fresh GsiT (or MulT) sized to the dataset's feature dims, or a saved checkpoint."""
    from ..modeling.gsit import GsiTConfig, GsiTForSequenceClassification

    kwargs = {}
    if model_args.attn_implementation:
        kwargs["attn_implementation"] = model_args.attn_implementation
    if model_args.model_name_or_path:
        return GsiTForSequenceClassification.from_pretrained(model_args.model_name_or_path, **kwargs)
    first = train_split[0]
    if "text_features" not in first:
        raise ValueError("this dataset carries BERT token ids, not features: give a text encoder checkpoint")
    fields = dict(
        text_dim=int(np.shape(first["text_features"])[-1]),
        audio_dim=int(np.shape(first["audio_features"])[-1]),
        vision_dim=int(np.shape(first["vision_features"])[-1]),
        fusion=model_args.gsit_fusion,
    )
    for name in GSIT_CONFIG_ARGUMENTS:
        if getattr(model_args, name) is not None:
            fields[name] = getattr(model_args, name)
    if model_args.preset:
        config = GsiTConfig.from_preset(model_args.preset, **fields)
    else:
        config = GsiTConfig(**fields)
    model = GsiTForSequenceClassification(config)
    if model_args.attn_implementation:
        model.set_attn_implementation(model_args.attn_implementation)
    return model


def published_optimizer(model, model_args: ModelArguments, training_args):
    """The published loop's optimizer: ``torch.optim.Adam`` with L2 weight decay (added to the gradient, not
    AdamW's decoupled decay), the text encoder (if any) at the preset's learning rate with its biases and
    LayerNorms undecayed, everything else at ``learning_rate``.

    The published loop sums the gradients of ``update_epochs`` batches before a step; ``Trainer`` averages
    them (``gradient_accumulation_steps``). Adam's update does not change when its gradient is scaled
    (epsilon aside), so the L2 term is divided by the accumulation steps to keep the published update.
    """
    import torch

    from ..modeling.gsit.presets import published_preset

    training = (
        published_preset(model_args.preset, model_args.gsit_fusion).training if model_args.preset else None
    )
    decay = training_args.weight_decay / training_args.gradient_accumulation_steps
    text_encoder = model.get_text_encoder()
    encoder_ids = set() if text_encoder is None else {id(p) for p in text_encoder.parameters()}
    groups = [{"params": [p for p in model.parameters() if id(p) not in encoder_ids], "weight_decay": decay}]
    if text_encoder is not None:
        learning_rate = training_args.learning_rate
        if training is not None and training.text_encoder_learning_rate is not None:
            learning_rate = training.text_encoder_learning_rate
        named = list(text_encoder.named_parameters())
        no_decay = [p for n, p in named if "bias" in n or "LayerNorm" in n]
        groups.append(
            {
                "params": [p for n, p in named if not ("bias" in n or "LayerNorm" in n)],
                "weight_decay": decay,
                "lr": learning_rate,
            }
        )
        groups.append({"params": no_decay, "weight_decay": 0.0, "lr": learning_rate})
    return torch.optim.Adam(groups, lr=training_args.learning_rate)


def training_callbacks(model_args: ModelArguments) -> list:
    """Early stopping, and the published MulT loop's value clipping (with ``published_optimizer``)."""
    from transformers import EarlyStoppingCallback

    from ..modeling.gsit.presets import published_preset

    callbacks = []
    if model_args.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=model_args.early_stopping_patience))
    if model_args.published_optimizer and model_args.preset:
        clip = published_preset(model_args.preset, model_args.gsit_fusion).training.grad_clip_value
        if clip is not None:
            callbacks.append(clip_grad_value_callback(clip))
    return callbacks


def clip_grad_value_callback(clip: float):
    """A ``TrainerCallback`` that runs ``clip_grad_value_`` before each optimizer step (the published MulT
    clips after every backward; here the accumulated gradient is clipped once per step)."""
    import torch
    from transformers import TrainerCallback

    class ClipGradValue(TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
            torch.nn.utils.clip_grad_value_([p for p in model.parameters() if p.requires_grad], clip)

    return ClipGradValue()


def msa_compute_metrics(dataset_name: str = "mosi"):
    """A ``Trainer`` ``compute_metrics`` for sentiment regression (MOSI/MOSEI or SIMS metric set)."""
    from ..metrics.msa import compute_msa_metrics

    def compute(eval_prediction) -> dict[str, float]:
        predictions = eval_prediction.predictions
        if isinstance(predictions, tuple):  # logits first, then the fused representation
            predictions = predictions[0]
        return compute_msa_metrics(
            np.asarray(predictions).reshape(-1), np.asarray(eval_prediction.label_ids), dataset_name
        )

    return compute
