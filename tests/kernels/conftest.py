"""Fixtures for the kernel tests."""

from __future__ import annotations

import pytest

from hf_graph4mm.kernels import fallback


@pytest.fixture
def fresh_fallback_warnings(monkeypatch):
    """Forget which once-per-process fallback warnings were given, so a test sees its own."""
    monkeypatch.setattr(fallback, "_warned", set())
