"""GsiT / MulT fine-tuning pieces: data, model and metrics for ``Trainer``."""

from __future__ import annotations

import numpy as np

from .arguments import DataArguments, ModelArguments, limit_samples

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
    """The MMSA ``DatasetDict`` named by ``data_args`` (the bundled MOSI sample by default)."""
    from ..data.mmsa import load_mmsa
    from ..testing.samples.mmsa import SAMPLE_PICKLE

    if data_args.dataset in ("sample", "mmsa-sample"):
        path = SAMPLE_PICKLE
    elif data_args.dataset == "mmsa":
        if not data_args.raw_dir:
            raise ValueError(
                "dataset=mmsa needs --raw_dir pointing at the MMSA pickle (e.g. unaligned_50.pkl)"
            )
        path = data_args.raw_dir
    else:
        raise ValueError(
            f"GsiT trains on MMSA data: use --dataset sample or --dataset mmsa, not {data_args.dataset!r}"
        )
    dataset = load_mmsa(path)
    keep = [c for c in dataset["train"].column_names if c in GSIT_INPUT_COLUMNS]
    if "text_features" in keep:  # precomputed BERT features: the token ids would ask for a text encoder
        keep = [c for c in keep if c not in ("input_ids", "attention_mask", "token_type_ids")]
    dataset = dataset.select_columns(keep).with_format("torch")
    return limit_samples(dataset, data_args)


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
    config = GsiTConfig(
        text_dim=int(first["text_features"].shape[-1]),
        audio_dim=int(first["audio_features"].shape[-1]),
        vision_dim=int(first["vision_features"].shape[-1]),
        hidden_size=model_args.hidden_size,
        num_attention_heads=model_args.num_attention_heads,
        num_layers=model_args.num_layers,
        tie_layers=model_args.tie_layers,
        fusion=model_args.gsit_fusion,
        regression_loss=model_args.regression_loss,
    )
    model = GsiTForSequenceClassification(config)
    if model_args.attn_implementation:
        model.set_attn_implementation(model_args.attn_implementation)
    return model


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
