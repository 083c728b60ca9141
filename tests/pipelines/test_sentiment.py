"""multimodal-sentiment-analysis against direct GsiT calls on unpadded inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import pipeline

from hf_graph4mm.pipelines import MultimodalSentimentAnalysisPipeline, sentiment_label
from hf_graph4mm.testing import NARROW_GSIT_DIMS, sentiment_inputs, tiny_gsit


def direct_score(model, item) -> torch.Tensor:
    with torch.no_grad():
        return model(
            text_features=torch.as_tensor(item["text"])[None],
            audio_features=torch.as_tensor(item["audio"])[None],
            vision_features=torch.as_tensor(item["vision"])[None],
        ).logits[0]


@pytest.mark.parametrize(
    ("score", "threshold", "label"),
    [
        (0.49, 0.5, "neutral"),
        (0.5, 0.5, "positive"),
        (-0.5, 0.5, "negative"),
        (-0.2, 0.1, "negative"),
        (0.0, 0.1, "neutral"),
    ],
)
def test_sentiment_label_bands(score, threshold, label):
    assert sentiment_label(score, threshold) == label


def test_batched_scores_match_unpadded_model_calls():
    model = tiny_gsit()
    analyzer = pipeline("multimodal-sentiment-analysis", model=model)
    assert isinstance(analyzer, MultimodalSentimentAnalysisPipeline)
    items = sentiment_inputs(5)
    outputs = analyzer(items, batch_size=3)
    for item, output in zip(items, outputs):
        expected = float(direct_score(model, item))
        assert output["score"] == pytest.approx(expected, abs=1e-5)
        assert output["label"] == sentiment_label(expected)
    # a threshold wide enough makes everything neutral
    assert {o["label"] for o in analyzer(items, neutral_threshold=1e6)} == {"neutral"}


def test_feature_key_names_and_saved_folder(tmp_path):
    model = tiny_gsit()
    model.save_pretrained(tmp_path)
    analyzer = pipeline("multimodal-sentiment-analysis", model=str(tmp_path))
    item = sentiment_inputs(1, seed=3)[0]
    renamed = {f"{m}_features": value.tolist() for m, value in item.items()}
    assert analyzer(renamed)["score"] == pytest.approx(float(direct_score(model, item)), abs=1e-5)


def test_classification_head_gives_id2label_and_probability():
    model = tiny_gsit(num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"})
    item = sentiment_inputs(1, seed=4)[0]
    probabilities = torch.softmax(direct_score(model, item).double(), dim=-1)
    output = pipeline("multimodal-sentiment-analysis", model=model)(item)
    assert output["label"] == ["negative", "neutral", "positive"][int(probabilities.argmax())]
    assert output["score"] == pytest.approx(float(probabilities.max()), abs=1e-5)


def _with(item, **changes):
    return {**item, **changes}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"audio": np.zeros((6, NARROW_GSIT_DIMS["audio"] + 1))}, r"audio has 4 features per step; the model expects 3"),
        ({"vision": None}, "no 'vision'"),
        ({"audio": np.full((6, NARROW_GSIT_DIMS["audio"]), -np.inf)}, "audio holds NaN or infinite values"),
        ({"text": "a sentence"}, "no text encoder"),
        ({"text": np.zeros((0, NARROW_GSIT_DIMS["text"]))}, "text is empty"),
        ({"vision": np.zeros((2, NARROW_GSIT_DIMS["vision"]))}, r"vision has 2 time steps, fewer than the model's conv kernel \(3\)"),
    ],
)
def test_malformed_sentiment_inputs(change, message):
    analyzer = pipeline("multimodal-sentiment-analysis", model=tiny_gsit())
    item = _with(sentiment_inputs(1)[0], **change)
    if item.get("vision") is None:
        item.pop("vision")
    with pytest.raises(ValueError, match=message):
        analyzer(item)


def test_text_as_a_string_goes_through_the_tokenizer_and_text_encoder(tmp_path):
    from transformers import BertConfig

    from hf_graph4mm.hub import save_for_hub
    from hf_graph4mm.tiny import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    encoder = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
    )
    model = tiny_gsit(text_encoder_config=encoder)
    save_for_hub(model, tmp_path, tokenizer)
    analyzer = pipeline("multimodal-sentiment-analysis", model=str(tmp_path))
    assert analyzer.tokenizer is not None
    texts = ["what a film", "no"]
    items = [
        {"text": text, **{m: v for m, v in item.items() if m != "text"}}
        for text, item in zip(texts, sentiment_inputs(2))
    ]
    outputs = analyzer(items, batch_size=2)
    for item, output in zip(items, outputs):
        encoded = tokenizer(item["text"], return_tensors="pt")
        with torch.no_grad():
            expected = model(
                input_ids=encoded["input_ids"],
                attention_mask=encoded["attention_mask"],
                audio_features=torch.as_tensor(item["audio"])[None],
                vision_features=torch.as_tensor(item["vision"])[None],
            ).logits
        assert output["score"] == pytest.approx(float(expected), abs=1e-5)
    with pytest.raises(ValueError, match="give the text as a string"):
        analyzer(sentiment_inputs(1)[0])
