"""The tests of benchmarks/: that folder of scripts sits at the repository root and is not installed, so the
root goes on sys.path before these test modules import ``benchmarks.*``."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
