"""Fixtures for the pipeline tests."""

from __future__ import annotations

import pytest
from transformers import pipeline

from hf_graph4mm.testing import tiny_graph4mm


@pytest.fixture(scope="module")
def generator():
    """A graph-text-generation pipeline over ``tiny_graph4mm()`` (one per test module)."""
    model, processor = tiny_graph4mm()
    return pipeline("graph-text-generation", model=model, processor=processor, device="cpu")
