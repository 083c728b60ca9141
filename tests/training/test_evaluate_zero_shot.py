import torch

from hf_graph4mm.processing import Graph4MMCollator
from hf_graph4mm.training.arguments import DataArguments, ModelArguments
from hf_graph4mm.training.evaluate import evaluate_graph4mm
from hf_graph4mm.training.graph4mm_task import build_graph4mm, load_graph4mm_dataset


def test_zero_shot_evaluation_ranks_unseen_class_names_by_likelihood():
    data_args = DataArguments(
        dataset="ele-fashion-sample",
        seen_classes="0,1,2,3,4,5",
        max_eval_samples=10,
        max_length=192,
        max_target_length=16,
        prompt="What kind of product is this?",
    )
    torch.manual_seed(0)
    model, processor = build_graph4mm(ModelArguments(), data_args)
    dataset, graph = load_graph4mm_dataset(data_args)
    test = dataset["test"].filter(lambda row: not row["is_seen_class"])
    assert len(test) > 0 and set(dataset["train"]["label"]) <= {0, 1, 2, 3, 4, 5}
    metrics = evaluate_graph4mm(model.eval(), processor, dataset["test"], data_args, graph)

    # the same decision made by hand: unseen class names, mean log-likelihood after each prompt
    names = sorted(set(test["label_name"]))
    all_names = dataset["test"].features["label"].names
    assert set(names) <= {all_names[i] for i in range(6, 11)}
    encoded = processor.tokenizer(names, add_special_tokens=False, padding=True, return_tensors="pt")
    batch = Graph4MMCollator(
        processor, padding_side="left", with_labels=False, prompt=data_args.prompt, graph=graph
    )(list(test))
    with torch.no_grad():
        scores = model.score_candidates(
            encoded["input_ids"], candidate_attention_mask=encoded["attention_mask"], **batch
        ).mean_log_likelihood
    predicted = [names[i] for i in scores.argmax(dim=1)]
    expected = sum(p == t for p, t in zip(predicted, test["label_name"])) / len(test)
    assert metrics["accuracy"] == expected
