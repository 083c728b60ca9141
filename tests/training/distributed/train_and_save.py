"""Three Trainer steps of a tiny Graph4MM, a tiny GsiT and a tiny MulT in one launch, each saved with
``trainer.save_model``; DDP or FSDP is whatever the ``accelerate launch`` config says:

    accelerate launch --multi_gpu --num_processes 2 ... train_and_save.py OUT [family ...]   # DDP on gloo
    accelerate launch --use_fsdp --fsdp_version 2 --num_processes 2 ... train_and_save.py OUT

Run with ``ACCELERATE_USE_CPU=1``. Writes, per family, ``OUT/<family>/`` (what ``save_model`` wrote),
``OUT/<family>.initial/`` (the model before training) and ``OUT/<family>.batch.safetensors`` (the 4
training rows as one batch), and ``OUT/report.json``: the distributed type and FSDP settings, and per
family the FSDP units (qualified name, class name), the logged loss and gradient norm of every step,
the loss of the fixed batch on the trained, still wrapped model, or the error that stopped the family.

Float64 and no dropout: two runs differ only in the order of floating-point sums. Each step sees all 4
rows (2 per process). FSDP version 2: FSDP1 (torch 2.13) cannot run this on CPU, its ``clip_grad_norm_``
(called by Trainer every step for the logged norm) rejects float64 gradients and, in float32, its
FULL_STATE_DICT save crashes the process (SIGSEGV).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import Trainer, TrainingArguments

FAMILIES = ("graph4mm", "gsit", "mult")
NO_DROPOUT = dict(
    embedding_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, residual_dropout=0.0, text_dropout=0.0
)


def graph4mm_parts():
    """Tiny Graph4MM with its vision encoder and LM frozen (the config's defaults, as in the paper), four
    synthetic graphs with pictures and answers of different lengths, and their collator."""
    from hf_graph4mm import Graph4MMForConditionalGeneration, Graph4MMProcessor
    from hf_graph4mm.processing import Graph4MMCollator
    from hf_graph4mm.testing import build_tiny_image_processor, build_tiny_tokenizer, tiny_graph4mm_config
    from hf_graph4mm.testing.synthetic import MAX_NODES, generate_examples

    max_images, max_texts = MAX_NODES["far_colour"]
    model = Graph4MMForConditionalGeneration(
        tiny_graph4mm_config(max_image_nodes=max_images, max_text_nodes=max_texts)
    )
    assert model.config.freeze_vision_model and model.config.freeze_language_model
    processor = Graph4MMProcessor(
        image_processor=build_tiny_image_processor(),
        tokenizer=build_tiny_tokenizer(),
        num_query_tokens=model.config.num_query_tokens,
        max_text_nodes=max_texts,
        max_image_nodes=max_images,
        max_length=160,
        max_target_length=16,
        max_node_tokens=16,
    )
    rows = [example.to_row() for example in generate_examples("far_colour", 4, seed=0)]
    return model, rows, Graph4MMCollator(processor)


def gsit_parts(fusion: str):
    """Tiny GsiT ("interlaced") or MulT ("mult") with 4 depth-tied layers (one layer module run 4 times
    per pass), four rows of right-padded features with different real lengths, and the default collator."""
    from transformers import default_data_collator

    from hf_graph4mm import GsiTForSequenceClassification
    from hf_graph4mm.testing import GSIT_DIMS, tiny_gsit_config

    config = tiny_gsit_config(fusion=fusion, num_layers=4, **NO_DROPOUT)
    assert config.tie_layers
    model = GsiTForSequenceClassification(config)
    generator = torch.Generator().manual_seed(0)
    times, lengths = {"text": 9, "audio": 11, "vision": 8}, {"text": 9, "audio": 7, "vision": 5}
    rows = []
    for index in range(4):
        row = {}
        for modality, time in times.items():
            row[f"{modality}_features"] = torch.randn(time, GSIT_DIMS[modality], generator=generator)
            row[f"{modality}_lengths"] = torch.tensor(max(lengths[modality] - 2 * index, 1))
        row["labels"] = torch.randn((), generator=generator)
        rows.append(row)
    return model, rows, default_data_collator


def launched_with_fsdp() -> bool:
    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"


def accelerate_state():
    """The accelerate state for one model, with FSDP when the launch asked for it.

    accelerate 1.16 gives every multi-process CPU run the type ``MULTI_CPU`` (DDP on gloo) and reads the
    FSDP plugin only for GPU-like types: on CPU the launch's ``--use_fsdp`` is dropped without a word.
    Here the shared state is promoted to FSDP with the launch's plugin (built from its ``FSDP_*``
    variables) before ``Trainer`` builds its ``Accelerator``, which reuses it (``TrainingArguments`` must
    then keep it: ``accelerator_config={"use_configured_state": True}``). The state is rebuilt per model:
    ``set_auto_wrap_policy`` binds the first model's classes to the plugin for good.
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    AcceleratorState._reset_state()
    Accelerator(cpu=True)
    state = AcceleratorState()
    if launched_with_fsdp() and state.distributed_type in (DistributedType.MULTI_CPU, DistributedType.FSDP):
        state.distributed_type = PartialState._shared_state["distributed_type"] = DistributedType.FSDP
        state.fsdp_plugin = FullyShardedDataParallelPlugin()
    return state


def fsdp_units(model: torch.nn.Module) -> list[list[str]]:
    """``[qualified name, class name]`` of every FSDP unit: ``fully_shard`` modules (FSDP2) or FSDP1 wrappers."""
    from torch.distributed.fsdp import FSDPModule, FullyShardedDataParallel

    units = []
    for name, module in model.named_modules():
        if isinstance(module, FullyShardedDataParallel):
            units.append([name.replace("_fsdp_wrapped_module.", ""), type(module.module).__name__])
        elif isinstance(module, FSDPModule):  # fully_shard swaps the class for FSDP<Class>(FSDPModule, Class)
            original = next(cls for cls in type(module).__mro__[1:] if not issubclass(cls, FSDPModule))
            units.append([name, original.__name__])
    return units


def train(family: str, output: Path) -> dict:
    """Train ``family`` 3 steps, save it; what the report says about it (on process 0)."""
    torch.manual_seed(0)
    model, rows, collator = (
        graph4mm_parts() if family == "graph4mm" else gsit_parts(family.replace("gsit", "interlaced"))
    )
    state = accelerate_state()
    if state.is_main_process:
        model.save_pretrained(output / f"{family}.initial")
    args = TrainingArguments(
        output_dir=str(output / f"{family}.run"),
        accelerator_config={"use_configured_state": True},  # keep the state above (the default resets it)
        per_device_train_batch_size=2,
        max_steps=3,
        learning_rate=0.1,
        optim="sgd",
        lr_scheduler_type="constant",
        # no clipping, so that the updates keep the gradients' scale; Trainer still computes (and logs)
        # the norm every step, over FSDP's shards
        max_grad_norm=0.0,
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        remove_unused_columns=False,
        disable_tqdm=True,
        seed=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator)
    if trainer.is_fsdp_enabled != launched_with_fsdp():
        raise RuntimeError(
            f"the launch asked for FSDP: {launched_with_fsdp()}; Trainer uses FSDP: {trainer.is_fsdp_enabled}"
        )
    trainer.train()
    trainer.save_model(str(output / family))
    batch = dict(collator(rows))
    wrapped = trainer.model_wrapped
    wrapped.eval()
    with torch.no_grad():  # on every process: FSDP gathers the parameters
        loss = wrapped(**batch).loss.item()
    if state.is_main_process:
        save_file(
            {key: value.contiguous() for key, value in batch.items()}, output / f"{family}.batch.safetensors"
        )
    steps = [
        [entry["loss"], entry["grad_norm"]] for entry in trainer.state.log_history if "grad_norm" in entry
    ]
    return {"units": fsdp_units(wrapped), "steps": steps, "loss": loss}


def main(output_dir: str, families: list[str]) -> None:
    torch.set_default_dtype(torch.float64)
    output = Path(output_dir)
    report = {"families": {}}
    for family in families:
        try:
            report["families"][family] = train(family, output)
        except Exception as error:  # recorded, so that one family's failure hides no other family's result
            traceback.print_exc()
            report["families"][family] = {"error": f"{type(error).__name__}: {error}"}
    from accelerate.state import AcceleratorState, PartialState

    state = PartialState()
    if state.is_main_process:
        plugin = AcceleratorState._shared_state.get("fsdp_plugin")
        report["distributed_type"] = state.distributed_type.value
        report["num_processes"] = state.num_processes
        if plugin is not None:
            report["fsdp"] = {
                "version": plugin.fsdp_version,
                "state_dict_type": plugin.state_dict_type.name,
                "reshard_after_forward": plugin.reshard_after_forward,
            }
        (output / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or list(FAMILIES))
    torch.distributed.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # everything is written; Python's own teardown (~4000 modules) would take seconds more
