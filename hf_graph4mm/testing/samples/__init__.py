"""Small files in the real release formats, from seeded generators: the bundled sample data and test fixtures.

One module per dataset of :mod:`hf_graph4mm.data`: :mod:`.wikiweb2m` (TFRecord shards and images),
:mod:`.ele_fashion` (the MM-Graph ``.pt`` files, texts and images), :mod:`.mmsa` (an MMSA pickle).
``dataset_scripts/make_sample_data.py`` writes the bundled copies under :data:`SAMPLE_DATA` with them.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
"""The bundled sample data shipped in the package: ``wikiweb2m/``, ``ele_fashion/``, ``mmsa/``."""
