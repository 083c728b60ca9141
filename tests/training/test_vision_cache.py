import pytest
import torch

from hf_graph4mm.processing import Graph4MMCollator
from hf_graph4mm.training.arguments import DataArguments, ModelArguments
from hf_graph4mm.training.graph4mm_task import build_graph4mm, load_graph4mm_dataset
from hf_graph4mm.training.vision_cache import VisionFeatureCache, images_of_rows

DATA = DataArguments(dataset="sample", max_length=256, max_target_length=24, max_node_tokens=24)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model, processor = build_graph4mm(ModelArguments(), DATA)
    dataset, _ = load_graph4mm_dataset(DATA)
    rows = [dataset["train"][i] for i in range(6)]
    return model.eval(), processor, dataset, rows


def test_cached_batches_give_the_same_loss_without_running_the_encoder(setup, monkeypatch):
    model, processor, dataset, rows = setup
    cache = VisionFeatureCache.build(model, processor, images_of_rows(dataset["train"]))
    distinct = {image for row in dataset["train"] for image in row["graph"]["images"] if image is not None}
    assert len(cache) == len(distinct) > 0
    plain = Graph4MMCollator(processor, prompt=DATA.prompt)(rows)
    cached = Graph4MMCollator(processor, prompt=DATA.prompt, vision_cache=cache)(rows)
    assert (
        "pixel_values" not in cached and cached["image_embeds"].shape[:2] == plain["pixel_values"].shape[:2]
    )
    assert plain["image_node_mask"].any(), "the rows must have images for the comparison to mean anything"
    with torch.no_grad():
        expected = model(**plain)

    calls = []
    monkeypatch.setattr(model.vision_model, "forward", lambda *a, **k: calls.append(1))
    with torch.no_grad():
        got = model(**cached)
    assert calls == [], "the frozen vision encoder ran although its outputs were cached"
    torch.testing.assert_close(got.loss, expected.loss, rtol=0, atol=1e-5)
    torch.testing.assert_close(got.logits, expected.logits, rtol=0, atol=1e-4)


def test_cache_file_round_trip_and_errors(setup, tmp_path):
    model, processor, dataset, rows = setup
    cache = VisionFeatureCache.build(model, processor, images_of_rows(rows))
    loaded = VisionFeatureCache.load(cache.save(tmp_path / "features.safetensors"))
    assert list(loaded) == list(cache) and loaded.width == model.config.vision_config.hidden_size
    for key in cache:
        assert torch.equal(loaded[key], cache[key])
    other = [r for r in dataset["test"] if any(r["graph"]["images"])][:1]
    with pytest.raises(ValueError, match="is not in the vision-feature cache"):
        Graph4MMCollator(processor, vision_cache=VisionFeatureCache(["x"], torch.zeros(1, loaded.width)))(
            other
        )
    model.vision_model.requires_grad_(True)
    try:
        with pytest.raises(ValueError, match="needs a frozen vision encoder"):
            VisionFeatureCache.build(model, processor, images_of_rows(rows))
    finally:
        model.vision_model.requires_grad_(False)
