"""GsiT/MulT models: inputs and lengths, padding invariance, losses, save/load, Auto classes, training."""

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from hf_graph4mm import GsiTConfig, GsiTForSequenceClassification, GsiTModel
from hf_graph4mm.modeling.gsit.layers import lengths_after_conv
from hf_graph4mm.testing import GSIT_DIMS, tiny_gsit_config
from hf_graph4mm.testing import gsit_batch as random_batch

DIMS = GSIT_DIMS
tiny_config = tiny_gsit_config


def pad_more(inputs, extra=(4, 6, 3), seed=1):
    """Append garbage (not zeros, and -inf in audio as MMSA files have) after every sequence."""
    generator = torch.Generator().manual_seed(seed)
    padded = dict(inputs)
    for m, n in zip(("text", "audio", "vision"), extra):
        x = inputs[f"{m}_features"]
        garbage = 100 * torch.randn(x.shape[0], n, x.shape[2], generator=generator)
        if m == "audio":
            garbage[:, 0] = float("-inf")
        padded[f"{m}_features"] = torch.cat([x, garbage], dim=1)
    return padded


def with_garbage_in_padding(inputs, seed=2):
    """Overwrite the existing padded steps with garbage: real steps unchanged."""
    generator = torch.Generator().manual_seed(seed)
    noisy = dict(inputs)
    for m in ("text", "audio", "vision"):
        x = inputs[f"{m}_features"].clone()
        real = torch.arange(x.shape[1])[None, :] < inputs[f"{m}_lengths"][:, None]
        x[~real] = 50 * torch.randn(int((~real).sum()), x.shape[2], generator=generator)
        noisy[f"{m}_features"] = x
    return noisy


pytestmark = pytest.mark.usefixtures("single_thread")  # tests/conftest.py


# --- lengths ---


def test_lengths_after_conv_clamps_short_samples_to_one_step():
    lengths = torch.tensor([0, 1, 4, 5, 6, 50])
    assert lengths_after_conv(lengths, 5).tolist() == [1, 1, 1, 1, 2, 46]
    assert lengths_after_conv(lengths, 1).tolist() == [1, 1, 4, 5, 6, 50]


@pytest.mark.parametrize("fusion", ["interlaced", "mult"])
def test_output_shapes_and_lengths(fusion):
    model = GsiTModel(tiny_config(fusion=fusion)).eval()
    with torch.no_grad():
        out = model(**random_batch())
    assert out.fused_representation.shape == (3, 6 * 16)
    assert out.text_hidden_state.shape == (3, 9 - 2, 32)
    assert out.audio_hidden_state.shape == (3, 12 - 4, 32)
    assert out.vision_hidden_state.shape == (3, 8, 32)
    # text kernel 3, vision kernel 1, audio kernel 5; columns are text, vision, audio
    assert out.sequence_lengths.tolist() == [[7, 8, 8], [2, 1, 1], [1, 5, 3]]


def test_fused_representation_is_the_last_real_step_of_each_modality():
    model = GsiTModel(tiny_config()).eval()
    with torch.no_grad():
        out = model(**random_batch())
    for b in range(3):
        t, v, a = out.sequence_lengths[b].tolist()
        expected = torch.cat(
            [
                out.text_hidden_state[b, t - 1],
                out.vision_hidden_state[b, v - 1],
                out.audio_hidden_state[b, a - 1],
            ]
        )
        torch.testing.assert_close(out.fused_representation[b], expected)


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("padded", [True, False])
def test_computing_only_the_last_steps_equals_the_full_sequences(implementation, padded):
    """return_sequences=False projects and attends only the queries the head reads at the last self-pass layer:
    the same representation and the same gradients as the full computation (float64)."""
    torch.manual_seed(0)
    model = GsiTModel(tiny_config(attn_implementation=implementation)).double().eval()
    inputs = random_batch()
    if not padded:  # every step real: the packed layout is a plain reshape
        inputs = {k: v for k, v in inputs.items() if not k.endswith("_lengths")}
    inputs = {k: v.double() if v.is_floating_point() else v for k, v in inputs.items()}
    results = []
    for return_sequences in (True, False):
        model.zero_grad()
        out = model(**inputs, return_sequences=return_sequences)
        (out.fused_representation**2).sum().backward()
        results.append((out.fused_representation.detach(), [p.grad.clone() for p in model.parameters()]))
    (full, full_grads), (pruned, pruned_grads) = results
    torch.testing.assert_close(pruned, full, rtol=1e-10, atol=1e-10)
    for got, expected in zip(pruned_grads, full_grads):
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-10)


def test_masks_and_lengths_give_the_same_result():
    model = GsiTForSequenceClassification(tiny_config()).eval()
    inputs = random_batch()
    masked = {k: v for k, v in inputs.items() if not k.endswith("_lengths")}
    for m in ("text", "audio", "vision"):
        time = inputs[f"{m}_features"].shape[1]
        masked[f"{m}_mask"] = (torch.arange(time)[None, :] < inputs[f"{m}_lengths"][:, None]).long()
    with torch.no_grad():
        torch.testing.assert_close(model(**masked).logits, model(**inputs).logits)


def test_sequences_shorter_than_the_kernel_are_padded_internally():
    model = GsiTModel(tiny_config(audio_kernel_size=5)).eval()
    inputs = random_batch()
    inputs["audio_features"] = inputs["audio_features"][:, :3]
    inputs["audio_lengths"] = torch.tensor([3, 2, 1])
    with torch.no_grad():
        out = model(**inputs)
    assert out.audio_hidden_state.shape[1] == 1
    assert out.sequence_lengths[:, 2].tolist() == [1, 1, 1]
    assert torch.isfinite(out.fused_representation).all()


@pytest.mark.parametrize("how", ["lengths", "mask"])
def test_a_sample_without_real_steps_is_refused_naming_modality_and_sample(how):
    model = GsiTForSequenceClassification(tiny_config())
    inputs = random_batch()
    if how == "lengths":
        inputs["vision_lengths"] = torch.tensor([8, 0, 3])
    else:
        inputs.pop("vision_lengths")
        inputs["vision_mask"] = torch.tensor([[1] * 8, [0] * 8, [1] * 3 + [0] * 5])
    with pytest.raises(ValueError, match="sample 1 has no real vision step"):
        model(**inputs)


def test_nan_or_inf_in_real_steps_is_refused_but_not_in_padding():
    model = GsiTForSequenceClassification(tiny_config()).eval()
    inputs = random_batch()
    length = int(inputs["audio_lengths"][2])
    assert length < inputs["audio_features"].shape[1]
    padded = {**inputs, "audio_features": inputs["audio_features"].clone()}
    padded["audio_features"][2, length:] = float("-inf")  # MMSA pads audio with -inf: not a real step
    with torch.no_grad():
        torch.testing.assert_close(model(**padded).logits, model(**inputs).logits)
    for value in (float("nan"), float("inf")):
        bad = {**inputs, "text_features": inputs["text_features"].clone()}
        bad["text_features"][1, 0, 0] = value
        with pytest.raises(ValueError, match="text_features of sample 1 hold NaN or infinite values"):
            model(**bad)


# --- padding invariance (eval mode) ---


@pytest.mark.parametrize(
    ("fusion", "implementation"), [("interlaced", "eager"), ("interlaced", "sdpa"), ("mult", "sdpa")]
)
def test_appending_padding_does_not_change_outputs(fusion, implementation):
    model = GsiTForSequenceClassification(
        tiny_config(fusion=fusion, attn_implementation=implementation)
    ).eval()
    inputs = random_batch()
    with torch.no_grad():
        reference = model(**inputs)
        padded = model(**pad_more(inputs))
        noisy = model(**with_garbage_in_padding(inputs))
    torch.testing.assert_close(padded.logits, reference.logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        padded.fused_representation, reference.fused_representation, atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(noisy.logits, reference.logits, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("fusion", ["interlaced", "mult"])
def test_a_sample_gives_the_same_output_alone_and_in_a_batch(fusion):
    model = GsiTForSequenceClassification(tiny_config(fusion=fusion)).eval()
    inputs = random_batch()
    with torch.no_grad():
        batched = model(**inputs).logits
        for b in range(3):
            lengths = {m: int(inputs[f"{m}_lengths"][b]) for m in ("text", "audio", "vision")}
            alone = {f"{m}_features": inputs[f"{m}_features"][b : b + 1, : lengths[m]] for m in lengths}
            if lengths["audio"] < 5:  # keep the real length explicit where the sequence is below the kernel
                alone["audio_lengths"] = torch.tensor([lengths["audio"]])
            torch.testing.assert_close(model(**alone).logits[0], batched[b], atol=1e-5, rtol=1e-5)


# --- losses and dropout ---


@pytest.mark.parametrize(("loss_name", "reference"), [("l1", F.l1_loss), ("mse", F.mse_loss)])
def test_regression_loss(loss_name, reference):
    model = GsiTForSequenceClassification(tiny_config(regression_loss=loss_name)).eval()
    labels = torch.tensor([0.5, -2.0, 3.0])
    with torch.no_grad():
        out = model(**random_batch(), labels=labels)
    assert out.logits.shape == (3, 1)
    torch.testing.assert_close(out.loss, reference(out.logits[:, 0], labels))


def test_classification_loss_with_several_labels():
    model = GsiTForSequenceClassification(tiny_config(num_labels=3)).eval()
    labels = torch.tensor([0, 2, 1])
    with torch.no_grad():
        out = model(**random_batch(), labels=labels)
    assert out.logits.shape == (3, 3)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, labels))


def test_attention_dropout_acts_in_training_only():
    config = tiny_config(
        embedding_dropout=0.0, activation_dropout=0.0, residual_dropout=0.0, attention_dropout=0.5
    )
    model = GsiTForSequenceClassification(config)
    inputs = random_batch()
    model.train()
    torch.manual_seed(0)
    first = model(**inputs).logits
    second = model(**inputs).logits
    assert not torch.allclose(first, second)
    model.eval()
    torch.testing.assert_close(model(**inputs).logits, model(**inputs).logits)


# --- bad input ---


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"audio_features": torch.randn(3, 12, 6)}, "audio_features must be \\[batch, time, 5\\]"),
        ({"vision_features": torch.randn(2, 8, 7)}, "batch size"),
        ({"vision_features": None}, "vision_features is missing"),
        ({"text_features": None}, "text_features"),
        ({"audio_lengths": torch.tensor([12, 13, 2])}, "audio_lengths\\[1\\] = 13 is outside \\[0, 12\\]"),
        ({"text_lengths": torch.tensor([1.0, 2.0, 3.0])}, "text_lengths must be an integer tensor"),
        ({"audio_mask": torch.ones(3, 12)}, "either audio_lengths or audio_mask"),
        ({"input_ids": torch.ones(3, 4, dtype=torch.long)}, "input_ids need a text encoder"),
        ({"attention_mask": torch.ones(3, 9)}, "attention_mask and token_type_ids go with input_ids"),
        ({"token_type_ids": torch.zeros(3, 9, dtype=torch.long)}, "go with input_ids"),
    ],
)
def test_bad_input_raises_a_clear_error(change, message):
    model = GsiTForSequenceClassification(tiny_config())
    inputs = {**random_batch(), **change}
    with pytest.raises(ValueError, match=message):
        model(**inputs)


def test_left_padded_mask_is_refused():
    model = GsiTForSequenceClassification(tiny_config())
    inputs = random_batch()
    inputs.pop("vision_lengths")
    mask = torch.ones(3, 8, dtype=torch.long)
    mask[1, :2] = 0
    with pytest.raises(ValueError, match="vision_mask of sample 1 is not right-padded"):
        model(**inputs, vision_mask=mask)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fusion": "graph"}, "fusion must be one of"),
        ({"hidden_size": 18, "num_attention_heads": 4}, "not divisible"),
        ({"audio_kernel_size": 0}, "audio_kernel_size must be >= 1"),
        ({"regression_loss": "huber"}, "regression_loss"),
        ({"attention_dropout": 1.5}, "attention_dropout"),
    ],
)
def test_bad_config_raises_a_clear_error(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


# --- save / load, Auto classes, attention backends ---


@pytest.mark.parametrize("fusion", ["interlaced", "mult"])
def test_save_load_round_trip_through_auto_classes(tmp_path, fusion):
    model = GsiTForSequenceClassification(tiny_config(fusion=fusion, tie_layers=False)).eval()
    model.save_pretrained(tmp_path)
    config = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(config, GsiTConfig)
    assert (config.fusion, config.tie_layers, config.audio_kernel_size, config.num_labels) == (
        fusion,
        False,
        5,
        1,
    )
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert type(loaded) is GsiTForSequenceClassification
    base = AutoModel.from_pretrained(tmp_path).eval()
    assert type(base) is GsiTModel
    inputs = random_batch()
    with torch.no_grad():
        expected = model(**inputs)
        torch.testing.assert_close(loaded(**inputs).logits, expected.logits)
        torch.testing.assert_close(base(**inputs).fused_representation, expected.fused_representation)


@pytest.mark.parametrize(
    "implementation",
    ["eager", "sdpa", pytest.param("triton", marks=pytest.mark.slow)],  # interpreter: ~6 s
)
def test_attn_implementation_selects_an_equivalent_backend(tmp_path, implementation):
    model = GsiTForSequenceClassification(tiny_config(num_layers=1, attn_implementation="eager")).eval()
    model.save_pretrained(tmp_path)
    loaded = GsiTForSequenceClassification.from_pretrained(
        tmp_path, attn_implementation=implementation
    ).eval()
    assert loaded.config._attn_implementation == implementation
    inputs = random_batch(times=(6, 8, 5))
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs).logits, model(**inputs).logits, atol=1e-5, rtol=1e-5)
        model.set_attn_implementation(implementation)
        assert model.config._attn_implementation == implementation
        torch.testing.assert_close(model(**inputs).logits, loaded(**inputs).logits, atol=1e-5, rtol=1e-5)


def test_default_attn_implementation_is_sdpa_when_registered():
    from hf_graph4mm.kernels import get_backend

    get_backend("interlaced", "sdpa")  # registered by the kernels package
    assert GsiTForSequenceClassification(tiny_config()).config._attn_implementation == "sdpa"


def test_unknown_attn_implementation_is_refused(tmp_path):
    model = GsiTForSequenceClassification(tiny_config())
    with pytest.raises(ValueError, match="unknown attention implementation 'bogus'"):
        model.set_attn_implementation("bogus")
    model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="unknown attention implementation 'bogus'"):
        GsiTForSequenceClassification.from_pretrained(tmp_path, attn_implementation="bogus")


def test_triton_without_gpu_or_interpreter_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    model = GsiTForSequenceClassification(tiny_config())
    with pytest.raises(ValueError, match="triton"):
        model.set_attn_implementation("triton")


# --- optional text encoder ---


def tiny_bert_config():
    from transformers import BertConfig

    return BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )


def text_encoder_inputs():
    inputs = random_batch()
    inputs.pop("text_features")
    inputs.pop("text_lengths")
    generator = torch.Generator().manual_seed(3)
    inputs["input_ids"] = torch.randint(1, 50, (3, 7), generator=generator)
    inputs["attention_mask"] = (torch.arange(7)[None, :] < torch.tensor([[7], [5], [3]])).long()
    return inputs


def test_text_encoder_takes_token_ids_and_is_fine_tuned(tmp_path):
    model = GsiTForSequenceClassification(tiny_config(text_encoder_config=tiny_bert_config()))
    assert model.config.text_dim == 16  # taken from the encoder
    out = model(**text_encoder_inputs(), labels=torch.tensor([0.1, 0.2, -0.3]))
    out.loss.backward()
    encoder = model.get_text_encoder()
    assert encoder.embeddings.word_embeddings.weight.grad.abs().sum() > 0

    model.eval().save_pretrained(tmp_path)
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert type(loaded.get_text_encoder().config).__name__ == "BertConfig"
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(**text_encoder_inputs()).logits, model(**text_encoder_inputs()).logits
        )


def test_text_encoder_padding_invariance():
    model = GsiTForSequenceClassification(tiny_config(text_encoder_config=tiny_bert_config())).eval()
    inputs = text_encoder_inputs()
    padded = dict(inputs)
    padded["input_ids"] = torch.cat([inputs["input_ids"], torch.full((3, 4), 9)], dim=1)
    padded["attention_mask"] = torch.cat(
        [inputs["attention_mask"], torch.zeros(3, 4, dtype=torch.long)], dim=1
    )
    with torch.no_grad():
        torch.testing.assert_close(model(**padded).logits, model(**inputs).logits, atol=1e-5, rtol=1e-5)


def test_from_text_encoder_pretrained_loads_the_encoder_weights(tmp_path):
    from transformers import BertModel

    bert = BertModel(tiny_bert_config())
    bert.save_pretrained(tmp_path)
    model = GsiTForSequenceClassification.from_text_encoder_pretrained(
        str(tmp_path), audio_dim=5, vision_dim=7, hidden_size=16, num_attention_heads=2, num_layers=1
    )
    assert model.config.text_dim == 16
    for name, tensor in bert.state_dict().items():
        torch.testing.assert_close(model.get_text_encoder().state_dict()[name], tensor)


@pytest.mark.parametrize("implementation", ["eager", "triton"])
def test_text_encoder_follows_the_attn_implementation(implementation):
    model = GsiTForSequenceClassification(tiny_config(text_encoder_config=tiny_bert_config()))
    model.set_attn_implementation(implementation)
    expected = {"eager": "eager", "triton": "sdpa"}[implementation]
    assert model.get_text_encoder().config._attn_implementation == expected


# --- training ---


def test_tiny_gsit_overfits_a_small_batch():
    torch.manual_seed(0)
    config = tiny_config(
        embedding_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, residual_dropout=0.0
    )
    model = GsiTForSequenceClassification(config)
    generator = torch.Generator().manual_seed(4)
    inputs = {
        f"{m}_features": torch.randn(8, t, DIMS[m], generator=generator)
        for m, t in (("text", 9), ("audio", 12), ("vision", 8))
    }
    inputs["audio_lengths"] = torch.randint(1, 13, (8,), generator=generator)
    labels = torch.empty(8).uniform_(-3, 3, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss = model(**inputs, labels=labels).loss
        first = loss.item() if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 10


def test_text_encoder_builds_under_a_triton_load(tmp_path):
    """from_pretrained(attn_implementation="triton") must not hand "triton" to the stock BERT."""
    GsiTForSequenceClassification(
        tiny_config(num_layers=1, text_encoder_config=tiny_bert_config())
    ).save_pretrained(tmp_path)
    loaded = GsiTForSequenceClassification.from_pretrained(tmp_path, attn_implementation="triton")
    assert loaded.config._attn_implementation == "triton"
    assert loaded.get_text_encoder().config._attn_implementation == "sdpa"


def test_trainer_runs_on_a_datasets_dataset(tmp_path):
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    batch = random_batch()
    rows = {k: v.tolist() for k, v in batch.items()}
    rows["labels"] = [0.5, -1.0, 2.0]
    dataset = Dataset.from_dict(rows).with_format("torch")
    model = GsiTForSequenceClassification(tiny_config())
    before = model.head.out_proj.weight.detach().clone()
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=3,
        max_steps=2,
        use_cpu=True,
        report_to=[],
        learning_rate=1e-2,
        save_strategy="no",
        logging_steps=1,
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset)
    result = trainer.train()
    assert result.global_step == 2
    assert all("loss" in entry for entry in trainer.state.log_history[:2])
    assert not torch.equal(model.head.out_proj.weight, before)
