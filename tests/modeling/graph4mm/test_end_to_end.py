"""Graph4MMProcessor -> Graph4MMForConditionalGeneration: loss, generation and zero-shot scoring on a real graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from hf_graph4mm import Graph4MMForConditionalGeneration, Graph4MMProcessor, MultimodalGraph
from hf_graph4mm.testing import tiny_graph4mm_config as tiny_config
from hf_graph4mm.tiny import build_tiny_image_processor, build_tiny_tokenizer


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)) for _ in range(4)]
    graph = MultimodalGraph(
        texts=["a red summer dress", "matching sandals", None, "a straw hat", "beach bag", "sunglasses"],
        images=[images[0], None, images[1], images[2], None, images[3]],
        edges=[(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 5)],
        name="shop",
    )
    torch.manual_seed(0)
    model = Graph4MMForConditionalGeneration(tiny_config("opt", max_text_nodes=4, max_image_nodes=3)).eval()
    processor = Graph4MMProcessor(
        image_processor=build_tiny_image_processor(),
        tokenizer=build_tiny_tokenizer(),
        num_query_tokens=model.config.num_query_tokens,
        num_hops=model.config.max_hops,
        max_text_nodes=model.config.max_text_nodes,
        max_image_nodes=model.config.max_image_nodes,
        max_length=160,
        max_target_length=16,
        max_node_tokens=24,
    )
    assert processor.image_token_id == model.config.image_token_id
    return graph, model, processor


def test_processor_batches_train_the_model(setup):
    graph, model, processor = setup
    answers = ["dress", "hat & shoes"]
    batch = processor([graph, graph], targets=[0, 3], prompts="Describe the product:", target_texts=answers)
    output = model(**batch)
    # the batched loss is the token-weighted mean of each example's own loss
    per_example, counts = [], []
    for target, answer in zip([0, 3], answers):
        single = processor(graph, targets=target, prompts="Describe the product:", target_texts=answer)
        per_example.append(model(**single).loss.item())
        counts.append(int((single["labels"] != -100).sum()))
    expected = sum(loss * count for loss, count in zip(per_example, counts)) / sum(counts)
    assert output.loss.item() == pytest.approx(expected, rel=1e-5)

    model.train()
    output = model(**batch)
    output.loss.backward()
    assert model.qformer.query_tokens.grad.abs().sum() > 0
    assert model.text_structure.query.weight.grad.abs().sum() > 0
    assert model.image_structure.query.weight.grad.abs().sum() > 0
    model.zero_grad()
    model.eval()


def test_processor_batches_generate_and_score(setup):
    graph, model, processor = setup
    batch = processor([graph, graph], targets=[5, 1], prompts="Category:", padding_side="left")
    # generate() returns the prompt then the new tokens: compare the new ones
    generated = model.generate(**batch, max_new_tokens=5, do_sample=False)[:, batch["input_ids"].shape[1] :]
    for row, target in enumerate([5, 1]):
        single = processor(graph, targets=target, prompts="Category:")
        alone = model.generate(**single, max_new_tokens=5, do_sample=False)[:, single["input_ids"].shape[1] :]
        assert torch.equal(alone[0], generated[row])
    assert len(processor.batch_decode(generated, skip_special_tokens=True)) == 2

    labels = ["accessories", "shoes", "dresses"]
    candidates = processor.tokenizer(labels, add_special_tokens=False, padding=True, return_tensors="pt")
    scores = model.score_candidates(
        candidates["input_ids"], candidate_attention_mask=candidates["attention_mask"], **batch
    )
    assert scores.ranking.shape == (2, 3)
    assert torch.isfinite(scores.mean_log_likelihood).all()


def test_trainer_steps_update_only_the_new_parts(setup, tmp_path):
    from transformers import Trainer, TrainingArguments

    from hf_graph4mm import Graph4MMCollator

    graph, model, processor = setup
    rows = [{"target_node": node, "target_text": f"item {node}"} for node in range(4)]
    before = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
    arguments = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        gradient_accumulation_steps=2,
        max_steps=1,
        learning_rate=1e-2,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        remove_unused_columns=False,
    )
    collator = Graph4MMCollator(processor, prompt="Name:", graph=graph)
    trainer = Trainer(model=model, args=arguments, train_dataset=rows, data_collator=collator)
    assert trainer.model_accepts_loss_kwargs  # so gradient accumulation averages per answer token
    result = trainer.train()
    assert result.training_loss > 0
    for name, parameter in model.named_parameters():
        changed = not torch.equal(parameter.detach(), before[name])
        frozen = name.startswith(("vision_model.", "language_model."))
        assert changed is not frozen, name
    with torch.no_grad():  # leave the shared fixture as it was
        for name, parameter in model.named_parameters():
            parameter.copy_(before[name])
    model.eval()
