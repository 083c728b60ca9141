"""FSDP through ``accelerate launch`` and ``Trainer`` (2 CPU processes, gloo) == DDP, for both model families.

One DDP launch and one FSDP2 launch each train a tiny Graph4MM (frozen vision encoder and LM beside
trained parts), a tiny GsiT and a tiny MulT (one layer module run at all 4 depths of every pass) for 3
SGD steps on the same rows and seed, and save each with ``trainer.save_model``
(distributed/train_and_save.py). The checkpoints must load with ``from_pretrained``, and the FSDP
one must equal the DDP one; FSDP must have made a unit of every block ``_no_split_modules`` names.

Tolerance: both runs are float64 with no dropout on the same rows, split the same way between the
processes, so they differ at most in the order of floating-point sums (gradient reduce-scatter vs
all-reduce, the gradient norm summed per shard): ~1e-16 relative per operation, a few ulps of the
parameters (<= 1e-15) after 3 steps; here the two runs are in fact bit-identical. Parameters must agree
to 1e-10 absolute, and each tensor's update to 1e-6 relative (+ 1e-14 for the parameters' ulps): updates
range from ~1e-1 down to ~1e-11 (attention query/key weights at their small init), so a gradient that FSDP
lost, scaled or counted once for a layer run at 4 depths shows however small it is. Losses and gradient
norms must agree to 1e-10 relative.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "distributed" / "train_and_save.py"
TOLERANCE = 1e-10
UPDATE_RTOL, UPDATE_ATOL = 1e-6, 1e-14
COMMON = ["--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
DDP = ["--multi_gpu"]
# FSDP2: FSDP1 cannot run this on CPU (torch 2.13): its clip_grad_norm_, which Trainer calls every step
# for the logged norm, computes norms in float32 and rejects float64 gradients, and in float32 its
# FULL_STATE_DICT save crashes (SIGSEGV) on CPU.
FSDP = [
    "--use_fsdp",
    "--fsdp_version",
    "2",
    "--fsdp_auto_wrap_policy",
    "TRANSFORMER_BASED_WRAP",  # the model's _no_split_modules
    "--fsdp_state_dict_type",
    "FULL_STATE_DICT",  # save_model writes one from_pretrained checkpoint
    "--fsdp_reshard_after_forward",
    "true",  # FULL_SHARD: the tied layers are gathered again at every depth
    "--fsdp_cpu_ram_efficient_loading",
    "false",
]
# the blocks each family must be cut at (its own and its backbones'), whatever else _no_split_modules names
OWN_BLOCKS = {
    "graph4mm": {"QFormerLayer", "HopDiffusedAttention", "CLIPEncoderLayer", "OPTDecoderLayer"},
    "gsit": {"InterlacedLayer"},
    "mult": {"CrossModalLayer"},
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _launch(options: list[str], output: Path) -> dict:
    accelerate = shutil.which("accelerate")
    assert accelerate, "accelerate's launcher must be installed with the package"
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [accelerate, "launch", *options, *COMMON, "--main_process_port", str(_free_port())]
    result = subprocess.run(
        [*command, str(SCRIPT), str(output)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return json.loads((output / "report.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{"ddp" | "fsdp": (output folder, report)}: one launch each (~20 s, mostly imports)."""
    root = tmp_path_factory.mktemp("fsdp")
    return {
        name: (root / name, _launch(options, root / name)) for name, options in (("ddp", DDP), ("fsdp", FSDP))
    }


def _model_class(family):
    from hf_graph4mm import Graph4MMForConditionalGeneration, GsiTForSequenceClassification

    return Graph4MMForConditionalGeneration if family == "graph4mm" else GsiTForSequenceClassification


def _trained(runs, name, family):
    """(output folder, the family's report) of a run; fails with the error that stopped the family."""
    output, report = runs[name]
    result = report["families"][family]
    assert "error" not in result, f"{name} run of {family}: {result['error']}"
    return output, result


def _load(folder: Path, family: str, check_keys: bool = False):
    model_class = _model_class(family)
    if check_keys:
        _, info = model_class.from_pretrained(folder, output_loading_info=True)
        assert not any(info.values()), info  # no missing, unexpected or mismatched keys, no error
    model = model_class.from_pretrained(folder)
    assert next(model.parameters()).dtype == torch.float64
    return model.eval()


def test_every_model_answers_get_input_embeddings():
    """accelerate's FSDP2 preparation calls ``model.get_input_embeddings()`` on every model (to shard the
    embeddings on their own) and accepts a module or None; transformers' fallback raises instead for a
    model it cannot read, which stops ``Trainer`` under FSDP2 before the first step."""
    from hf_graph4mm.testing import tiny_graph4mm_config, tiny_gsit_config

    for family, config in [
        ("graph4mm", tiny_graph4mm_config()),
        ("gsit", tiny_gsit_config(fusion="interlaced")),
        ("mult", tiny_gsit_config(fusion="mult")),
    ]:
        model = _model_class(family)(config)
        try:
            embeddings = model.get_input_embeddings()
        except NotImplementedError as error:
            pytest.fail(f"{family}: {error} (a model without token embeddings returns None)")
        assert embeddings is None or isinstance(embeddings, torch.nn.Module), family


def test_from_pretrained_with_loading_info_keeps_the_backbones_frozen(tmp_path):
    """``from_pretrained(..., output_loading_info=True)`` returns ``(model, info)``: the backbones must be
    frozen again all the same (hf_graph4mm.hub.load_checkpoint loads that way)."""
    from hf_graph4mm import Graph4MMForConditionalGeneration
    from hf_graph4mm.testing import tiny_graph4mm_config

    Graph4MMForConditionalGeneration(tiny_graph4mm_config()).save_pretrained(tmp_path)
    model, _ = Graph4MMForConditionalGeneration.from_pretrained(tmp_path, output_loading_info=True)
    trainable = [name for name, parameter in model.named_parameters() if parameter.requires_grad]
    assert not [name for name in trainable if name.startswith(("vision_model.", "language_model."))]


@pytest.mark.slow
def test_the_launches_ran_ddp_and_fsdp2_on_two_processes(runs):
    ddp, fsdp = runs["ddp"][1], runs["fsdp"][1]
    assert (ddp["distributed_type"], ddp["num_processes"], "fsdp" in ddp) == ("MULTI_CPU", 2, False)
    assert (fsdp["distributed_type"], fsdp["num_processes"]) == ("FSDP", 2)
    assert fsdp["fsdp"] == {"version": 2, "state_dict_type": "FULL_STATE_DICT", "reshard_after_forward": True}


@pytest.mark.slow
@pytest.mark.parametrize("family", ["graph4mm", "gsit", "mult"])
def test_fsdp_cuts_the_model_at_its_no_split_modules(runs, family):
    """Every instance of every ``_no_split_modules`` class present is an FSDP unit; the other units are the
    root and what accelerate carves out on its own (the input / output embeddings)."""
    output, result = _trained(runs, "fsdp", family)
    model = _load(output / family, family)
    present = {type(module).__name__ for module in model.modules()}
    blocks = {name for name in model._no_split_modules if name in present}
    assert OWN_BLOCKS[family] <= blocks, f"_no_split_modules {sorted(model._no_split_modules)}"
    units = {name: cls for name, cls in result["units"]}
    expected = {name for name, module in model.named_modules() if type(module).__name__ in blocks}
    assert {name for name, cls in units.items() if cls in blocks} == expected
    carved = set()
    for getter in ("get_input_embeddings", "get_output_embeddings"):
        try:
            module = getattr(model, getter)()
        except NotImplementedError:
            module = None
        carved |= {
            name for name, candidate in model.named_modules() if module is not None and candidate is module
        }
    assert set(units) - expected - carved == {""}, units  # "" is the root


@pytest.mark.slow
@pytest.mark.parametrize("family", ["graph4mm", "gsit", "mult"])
def test_fsdp_checkpoint_equals_ddp_checkpoint(runs, family):
    (ddp_output, ddp), (fsdp_output, fsdp) = _trained(runs, "ddp", family), _trained(runs, "fsdp", family)
    ddp_model, fsdp_model = (
        _load(ddp_output / family, family, True),
        _load(fsdp_output / family, family, True),
    )
    initial = _load(ddp_output / f"{family}.initial", family).state_dict()
    ddp_state, fsdp_state = ddp_model.state_dict(), fsdp_model.state_dict()
    assert ddp_state.keys() == fsdp_state.keys() == initial.keys()
    trainable = {name for name, parameter in ddp_model.named_parameters() if parameter.requires_grad}
    moved = max((ddp_state[name] - initial[name]).abs().max().item() for name in trainable)
    assert moved > 1e-3, "training did not move the parameters: the comparison would be vacuous"
    for name, value in fsdp_state.items():
        assert (value - ddp_state[name]).abs().max().item() < TOLERANCE, name
        if name not in trainable:  # frozen backbones (and buffers) stay as built
            assert torch.equal(value, initial[name]), name
        # the updates themselves agree to 6 digits, however small (attention query/key weights move by
        # ~1e-11 in 3 steps from their 0.02-std init: a gradient lost there would pass the check above)
        torch.testing.assert_close(
            value - initial[name],
            ddp_state[name] - initial[name],
            rtol=UPDATE_RTOL,
            atol=UPDATE_ATOL,
            msg=lambda text, name=name: f"update of {name}: {text}",
        )

    # the logged loss and gradient norm of every step (the norm summed over FSDP's shards)
    assert len(ddp["steps"]) == len(fsdp["steps"]) == 3
    flat = [[value for step in run["steps"] for value in step] for run in (ddp, fsdp)]
    assert flat[1] == pytest.approx(flat[0], rel=TOLERANCE, abs=0)

    # the fixed batch: the loaded checkpoints give the loss the trained models gave in their runs
    batch = load_file(ddp_output / f"{family}.batch.safetensors")
    with torch.no_grad():
        losses = [ddp_model(**batch).loss.item(), fsdp_model(**batch).loss.item()]
    assert losses == pytest.approx([ddp["loss"], fsdp["loss"]], rel=TOLERANCE, abs=0)
    assert losses[1] == pytest.approx(losses[0], rel=TOLERANCE, abs=0)
