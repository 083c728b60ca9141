"""Running a script where hf_graph4mm cannot be imported: what a user with plain ``transformers`` /
``datasets`` sees (a Hub checkpoint's remote code, a dataset folder a script wrote)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_BLOCKER = (
    "import sys\n"
    "class _Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] == 'hf_graph4mm':\n"
    "            raise ImportError('hf_graph4mm is blocked in this test')\n"
    "sys.meta_path.insert(0, _Block())\n"
    "try:\n"
    "    import hf_graph4mm\n"
    "    raise SystemExit('hf_graph4mm was importable')\n"
    "except ImportError:\n"
    "    pass\n"
)


def run_without_package(script: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``script`` in a fresh ``python -I`` where importing hf_graph4mm is blocked; it must not import."""
    path = cwd / "script_without_package.py"
    path.write_text(_BLOCKER + script, encoding="utf-8")
    full_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-I", str(path)], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result
