"""A CPU forward on a mostly padded batch attends on the real rows (sdpa's rows variant) and leaves out the
steps past each segment's longest sample: the same numbers and gradients as eager, float64."""

from __future__ import annotations

import torch

from hf_graph4mm import GsiTForSequenceClassification
from hf_graph4mm.kernels.interlaced import sdpa
from hf_graph4mm.testing import tiny_gsit_config


def test_sdpa_on_real_rows_equals_eager_in_values_and_gradients(monkeypatch):
    torch.manual_seed(0)
    config = tiny_gsit_config(initializer_range=0.5, text_dropout=0.0, embedding_dropout=0.0)
    models = {}
    for name in ("eager", "sdpa"):
        torch.manual_seed(0)
        models[name] = GsiTForSequenceClassification(config).double().train()
        models[name].set_attn_implementation(name)
    generator = torch.Generator().manual_seed(1)
    batch = {
        "text_features": torch.randn(3, 12, 12, generator=generator, dtype=torch.float64),
        "audio_features": torch.randn(3, 30, 5, generator=generator, dtype=torch.float64),
        "vision_features": torch.randn(3, 25, 7, generator=generator, dtype=torch.float64),
        "text_lengths": torch.tensor([12, 4, 5]),
        "audio_lengths": torch.tensor([6, 30, 9]),
        "vision_lengths": torch.tensor([3, 8, 25]),
        "labels": torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64),
    }
    calls = []
    original = sdpa.interlaced_attention_sdpa.rows

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    counting.applies = original.applies
    monkeypatch.setattr(sdpa.interlaced_attention_sdpa, "rows", counting)
    outputs = {name: model(**batch) for name, model in models.items()}
    assert calls, "the batch is padded enough for the rows variant: it must have run"
    torch.testing.assert_close(outputs["sdpa"].logits, outputs["eager"].logits, rtol=1e-10, atol=1e-12)
    for output in outputs.values():
        output.loss.backward()
    eager = dict(models["eager"].named_parameters())
    for name, parameter in models["sdpa"].named_parameters():
        torch.testing.assert_close(parameter.grad, eager[name].grad, rtol=1e-9, atol=1e-11, msg=name)
    sequences = {name: model.model(**{k: v for k, v in batch.items() if k != "labels"}) for name, model in models.items()}
    assert sequences["sdpa"].audio_hidden_state.shape == (3, 30 - config.audio_kernel_size + 1, 2 * config.hidden_size)
    torch.testing.assert_close(sequences["sdpa"].audio_hidden_state, sequences["eager"].audio_hidden_state, rtol=1e-10, atol=1e-12)
