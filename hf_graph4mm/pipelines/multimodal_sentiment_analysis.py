"""``pipeline("multimodal-sentiment-analysis")``: text, audio and vision of an utterance -> sentiment.

One input is a dict ``{"text": ..., "audio": [T_a, audio_dim], "vision": [T_v, vision_dim]}``
where text is either a string (for a model with a text encoder; the pipeline's tokenizer is
used) or features ``[T_t, text_dim]`` (e.g. precomputed BERT features). ``*_features`` key
names are accepted too. Sequences of different lengths are padded per batch and their real
lengths passed to the model.

Output ``{"score": float, "label": "negative" | "neutral" | "positive"}``. For a regression
model (``num_labels == 1``; MOSI/MOSEI scores lie in [-3, 3]) the label is "neutral" when
``|score| < neutral_threshold`` (default 0.5: exactly the scores that round to 0 in the field's
Acc-7 convention; use 0.1 for CH-SIMS, whose Acc-3 edges are +-0.1), else the score's sign.
For a classification model the label is ``id2label`` of the most likely class and ``score`` its
probability.
"""

from __future__ import annotations

import torch

from ..processing.sentiment import check_sequence
from .batching import ItemListPipeline

MODALITIES = ("text", "audio", "vision")
DEFAULT_NEUTRAL_THRESHOLD = 0.5


def sentiment_label(score: float, neutral_threshold: float = DEFAULT_NEUTRAL_THRESHOLD) -> str:
    """ "neutral" when ``|score| < neutral_threshold``, else "positive" / "negative" by the sign."""
    if abs(score) < neutral_threshold:
        return "neutral"
    return "positive" if score > 0 else "negative"


def _feature_matrix(name: str, value, expected_dim: int, min_length: int = 1) -> torch.Tensor:
    """``[time, expected_dim]`` float32 from a list / numpy array / tensor, or a ValueError naming the field
    (the GsiT collator's checks: :func:`hf_graph4mm.processing.sentiment.check_sequence`)."""
    return check_sequence(value, where="the input", field=name, dim=expected_dim, min_length=min_length)


def _pad(sequences: list[torch.Tensor], pad_value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``[time_i, ...]`` tensors -> ``[batch, max_time, ...]`` and ``[batch]`` lengths."""
    lengths = torch.tensor([len(sequence) for sequence in sequences], dtype=torch.long)
    padded = torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True, padding_value=pad_value)
    return padded, lengths


class MultimodalSentimentAnalysisPipeline(ItemListPipeline):
    """Sentiment of an utterance from its text, audio and vision sequences (GsiT / MulT).

    Each sequence is checked as ``GsiTCollator`` checks it (``[time, dim]`` numbers of the model's width,
    no NaN / inf, at least the modality's conv kernel in steps), then the batch is padded with its lengths.

    Labels of a regression model (``neutral_threshold`` ``t``, default 0.5; 0.1 for CH-SIMS):
    ``score <= -t`` -> "negative", ``-t < score < t`` -> "neutral", ``score >= t`` -> "positive".
    A classification model gives ``id2label`` of its most likely class and that class's probability.
    """

    _load_processor = False
    _load_tokenizer = None  # only models with a text encoder need one
    _load_image_processor = False
    _load_feature_extractor = False

    def _sanitize_parameters(self, neutral_threshold=None):
        postprocess = {}
        if neutral_threshold is not None:
            if neutral_threshold < 0:
                raise ValueError(f"neutral_threshold must be >= 0, got {neutral_threshold}")
            postprocess["neutral_threshold"] = float(neutral_threshold)
        return {}, {}, postprocess

    def _uses_text_encoder(self) -> bool:
        return getattr(self.model.config, "text_encoder_config", None) is not None

    def preprocess(self, inputs):
        if not isinstance(inputs, dict):
            raise ValueError(
                "each input must be a dict {'text': str or [time, text_dim], 'audio': [time, audio_dim], "
                f"'vision': [time, vision_dim]}}, got {type(inputs).__name__}"
            )
        values = {}
        for modality in MODALITIES:
            value = inputs.get(modality, inputs.get(f"{modality}_features"))
            if value is None:
                raise ValueError(
                    f"the input has no {modality!r} (or {modality}_features); got keys {sorted(inputs)}"
                )
            values[modality] = value
        dims = {modality: getattr(self.model.config, f"{modality}_dim") for modality in MODALITIES}
        kernels = {m: getattr(self.model.config, f"{m}_kernel_size", 1) for m in MODALITIES}
        item = {m: _feature_matrix(m, values[m], dims[m], kernels[m]) for m in ("audio", "vision")}
        if isinstance(values["text"], str):
            if not self._uses_text_encoder():
                raise ValueError(
                    "this model takes text features [time, text_dim], not a string: it has no text encoder"
                )
            if self.tokenizer is None:
                raise ValueError("text given as a string needs a tokenizer: pass tokenizer=... to pipeline()")
            item["input_ids"] = self.tokenizer(values["text"], return_tensors="pt")["input_ids"][0]
        else:
            if self._uses_text_encoder():
                raise ValueError("this model has a text encoder: give the text as a string")
            item["text"] = _feature_matrix("text", values["text"], dims["text"], kernels["text"])
        return {"items": [item]}

    def _forward(self, model_inputs):
        items = model_inputs["items"]
        kinds = {"input_ids" in item for item in items}
        if len(kinds) > 1:
            raise ValueError("a batch mixes text strings and text features; give one kind")
        batch = {}
        for modality in ("audio", "vision"):
            batch[f"{modality}_features"], batch[f"{modality}_lengths"] = _pad(
                [item[modality] for item in items]
            )
        if kinds == {True}:
            pad_id = self.tokenizer.pad_token_id or 0
            batch["input_ids"], lengths = _pad([item["input_ids"] for item in items], pad_id)
            batch["attention_mask"] = (
                torch.arange(batch["input_ids"].shape[1])[None] < lengths[:, None]
            ).long()
        else:
            batch["text_features"], batch["text_lengths"] = _pad([item["text"] for item in items])
        with torch.no_grad():
            logits = self.model(**self._move(batch)).logits
        return {"logits": logits}

    def postprocess(self, model_outputs, neutral_threshold=DEFAULT_NEUTRAL_THRESHOLD):
        logits = model_outputs["logits"][0].float()
        if logits.numel() == 1:
            score = float(logits.item())
            return {"score": score, "label": sentiment_label(score, neutral_threshold)}
        probabilities = torch.softmax(logits, dim=-1)
        best = int(probabilities.argmax())
        return {"score": float(probabilities[best]), "label": self.model.config.id2label[best]}
