"""GsiTCollator: ragged rows padded as written out by hand, lengths set, bad samples named with their field."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hf_graph4mm import GsiTCollator
from hf_graph4mm.testing import tiny_gsit_config

DIMS = {"text": 2, "audio": 3, "vision": 1}


def rows():
    """Three utterances, each modality its own length (text 2/4/3, audio 1/2/5, vision 3/1/2)."""
    text = [np.arange(4, dtype=np.float32).reshape(2, 2), np.ones((4, 2)), np.full((3, 2), 2.0)]
    audio = [
        np.array([[1.0, 2.0, 3.0]]),
        np.full((2, 3), -1.0),
        np.arange(15, dtype=np.float64).reshape(5, 3),
    ]
    vision = [[[0.5], [0.25], [0.125]], [[7.0]], [[1.0], [2.0]]]
    return [
        {
            "id": f"u{i}",
            "text": text[i],
            "audio_features": audio[i],
            "vision": vision[i],
            "label": [0.5, -1.0, 2.0][i],
        }
        for i in range(3)
    ]


def test_padding_and_lengths_equal_the_hand_written_batch():
    batch = GsiTCollator(feature_dims=DIMS)(rows())
    assert batch["text_lengths"].tolist() == [2, 4, 3]
    assert batch["audio_lengths"].tolist() == [1, 2, 5]
    assert batch["vision_lengths"].tolist() == [3, 1, 2]
    text = torch.zeros(3, 4, 2)
    text[0, :2] = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    text[1] = 1.0
    text[2, :3] = 2.0
    assert torch.equal(batch["text_features"], text)
    audio = torch.zeros(3, 5, 3)
    audio[0, 0] = torch.tensor([1.0, 2.0, 3.0])
    audio[1, :2] = -1.0
    audio[2] = torch.arange(15.0).reshape(5, 3)
    assert torch.equal(batch["audio_features"], audio)
    vision = torch.tensor([[[0.5], [0.25], [0.125]], [[7.0], [0.0], [0.0]], [[1.0], [2.0], [0.0]]])
    assert torch.equal(batch["vision_features"], vision)
    assert batch["labels"].dtype == torch.float32 and batch["labels"].tolist() == [0.5, -1.0, 2.0]
    assert all(batch[f"{m}_features"].dtype == torch.float32 for m in DIMS)


def test_stored_lengths_cut_padded_sequences_and_integer_labels_stay_class_ids():
    padded = [
        {"text_features": np.ones((6, 2)), "text_lengths": 2, "audio": np.ones((4, 3)), "audio_lengths": 4,
         "vision": np.zeros((5, 1)), "vision_lengths": 1, "labels": 2},
        {"text_features": np.ones((6, 2)), "text_lengths": 5, "audio": np.ones((4, 3)), "audio_lengths": 3,
         "vision": np.zeros((5, 1)), "vision_lengths": 5, "labels": 0},
    ]  # fmt: skip
    batch = GsiTCollator()(padded)
    assert batch["text_features"].shape == (2, 5, 2) and batch["text_lengths"].tolist() == [2, 5]
    assert batch["text_features"][0, 2:].abs().sum() == 0
    assert batch["labels"].dtype == torch.long and batch["labels"].tolist() == [2, 0]


def test_the_batch_trains_the_model_and_equals_each_sample_alone():
    config = tiny_gsit_config(text_dim=2, audio_dim=3, vision_dim=1, text_kernel_size=1, audio_kernel_size=1)
    from hf_graph4mm import GsiTForSequenceClassification

    torch.manual_seed(0)
    model = GsiTForSequenceClassification(config).eval()
    data = rows()
    batch = GsiTCollator.from_config(config)(data)
    with torch.no_grad():
        together = model(**{k: v for k, v in batch.items() if k != "labels"}).logits.reshape(-1)
        for index, row in enumerate(data):
            alone = {
                "text_features": torch.as_tensor(np.asarray(row["text"], dtype=np.float32))[None],
                "audio_features": torch.as_tensor(np.asarray(row["audio_features"], dtype=np.float32))[None],
                "vision_features": torch.as_tensor(np.asarray(row["vision"], dtype=np.float32))[None],
            }
            torch.testing.assert_close(
                model(**alone).logits.reshape(-1)[0], together[index], atol=1e-5, rtol=1e-4
            )
    model.train()
    assert torch.isfinite(model(**batch).loss)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"audio_features": np.full((2, 3), np.nan)}, r"sample 'u1' \(row 1 of the batch\): audio_features holds NaN"),
        ({"text": np.array([[1.0, np.inf]] * 4)}, r"sample 'u1' .*: text_features holds NaN or infinite"),
        ({"vision": np.zeros((0, 1))}, r"sample 'u1' .*: vision_features is empty"),
        ({"audio_features": np.zeros((2, 4))}, r"sample 'u1' .*: audio_features has 4 features per step; the model expects 3"),
        ({"text": np.zeros(4)}, r"sample 'u1' .*: text_features must be \[time, 2\]"),
        ({"text": [["a", "b"]]}, r"sample 'u1' .*: text_features must be a \[time, dim\] array of numbers"),
        ({"vision": None}, r"sample 'u1' .* has no vision_features"),
        ({"audio_lengths": 3}, r"sample 'u1' .*: audio_lengths = 3 is outside \[0, 2\]"),
    ],
)  # fmt: skip
def test_bad_samples_are_refused_naming_sample_and_field(change, message):
    data = rows()
    data[1] = {**data[1], **change}
    with pytest.raises(ValueError, match=message):
        GsiTCollator(feature_dims=DIMS)(data)


def test_sequences_shorter_than_the_conv_kernel_are_refused_from_the_config():
    config = tiny_gsit_config(text_dim=2, audio_dim=3, vision_dim=1)  # kernels: text 3, audio 5, vision 1
    collator = GsiTCollator.from_config(config)
    assert collator.min_lengths == {"text": 3, "audio": 5, "vision": 1}
    data = [{**row, "audio_features": np.zeros((5, 3)), "text": np.zeros((3, 2))} for row in rows()]
    collator(data)  # exactly the kernel: accepted
    data[2] = {**data[2], "audio_features": np.zeros((4, 3))}
    with pytest.raises(
        ValueError,
        match=r"sample 'u2' .*: audio_features has 4 time steps, fewer than the model's conv kernel \(5\)",
    ):
        collator(data)


def test_a_row_without_id_is_named_by_its_position():
    data = [{k: v for k, v in row.items() if k != "id"} for row in rows()]
    data[2]["text"] = np.full((3, 2), np.nan)
    with pytest.raises(ValueError, match=r"sample #2 of the batch: text_features holds NaN"):
        GsiTCollator()(data)


def test_token_ids_for_a_text_encoder_are_cut_to_their_mask_and_padded_again():
    collator = GsiTCollator(min_lengths={"text": 2}, text_encoder=True)
    data = [
        {"input_ids": [5, 6, 7, 0], "attention_mask": [1, 1, 1, 0], "token_type_ids": [0, 0, 0, 0],
         "audio": np.ones((2, 3)), "vision": np.ones((1, 1)), "labels": 0.1},
        {"input_ids": [8, 9, 0, 0], "attention_mask": [1, 1, 0, 0], "token_type_ids": [0, 1, 0, 0],
         "audio": np.ones((1, 3)), "vision": np.ones((2, 1)), "labels": 0.2},
    ]  # fmt: skip
    batch = collator(data)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 9, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["token_type_ids"].tolist() == [[0, 0, 0], [0, 1, 0]]
    assert "text_features" not in batch
    data[1]["attention_mask"] = [1, 0, 0, 0]
    with pytest.raises(ValueError, match=r"sample #1 of the batch: input_ids has 1 real tokens"):
        collator(data)


def test_rows_stripped_by_trainer_point_at_remove_unused_columns():
    with pytest.raises(ValueError, match="remove_unused_columns=False"):
        GsiTCollator()([{"labels": 0.5}, {"labels": 1.0}])
