import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

SCRIPT = Path(__file__).parent / "distributed" / "one_step.py"


def _run(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.slow
def test_two_processes_with_half_batches_match_one_process(tmp_path):
    """One SGD step under `accelerate launch` (2 CPU processes, gloo) == one step on the full batch.

    The four rows have answers of 1 to 29 tokens, so a per-process token mean averaged by
    DDP would give a different update; only the global token count (Trainer's
    num_items_in_batch, gathered across processes) makes the two runs agree.
    """
    accelerate = shutil.which("accelerate")
    assert accelerate, "accelerate's launcher must be installed with the package"
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path.cwd())}
    single, double = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    _run([sys.executable, str(SCRIPT), str(single), "4"], env)
    _run(
        [
            accelerate,
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            "29517",
            str(SCRIPT),
            str(double),
            "2",
        ],
        env,
    )
    one, two = load_file(single), load_file(double)
    names = [name for name in one if not name.startswith("initial.")]
    assert names and set(names) == {name for name in two if not name.startswith("initial.")}
    moved = max((one[name] - one[f"initial.{name}"]).abs().max().item() for name in names)
    assert moved > 1e-3, "the step did not change the parameters: the comparison would be vacuous"
    for name in names:
        assert (one[name] - two[name]).abs().max().item() < 1e-10, name
