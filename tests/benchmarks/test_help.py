"""Every script in benchmarks/ answers --help (a usage text, exit 0) without running its benchmark.

All Python scripts run in ONE fresh process (they share their imports): each as ``__main__`` with
``--help``, its SystemExit and output recorded; a script that ignored --help would run its benchmark
and stop the whole run at the time limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((REPO_ROOT / "benchmarks").glob("*.py"))

RUNNER = """
import contextlib, io, json, runpy, sys
results = {}
for path in sys.argv[1:]:
    sys.argv = [path, "--help"]
    out = io.StringIO()
    code = "returned"
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as stop:
            code = stop.code
    results[path] = {"code": code, "out": out.getvalue()}
print("RESULTS" + json.dumps(results))
"""


def test_every_benchmark_script_answers_help_without_running():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, *map(str, SCRIPTS)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.split("RESULTS", 1)[1])
    assert set(results) == set(map(str, SCRIPTS))
    for path, outcome in results.items():
        assert outcome["code"] in (0, None), (path, outcome)
        assert "usage:" in outcome["out"], (path, outcome["out"][:500])


def test_gpu_check_answers_help_without_running():
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "benchmarks" / "gpu_check.sh"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and "first GPU run" in result.stdout and "logs:" not in result.stdout
