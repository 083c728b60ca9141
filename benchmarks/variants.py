"""The paper's ablation table on generated graphs whose answer lies at a known hop and modality.

    python benchmarks/variants.py [--tasks far_colour,near_majority,linked_colour] [--seeds 0,1,2] [--steps 600]
    hf-graph4mm benchmark-variants ...          (the same command, installed)

Tasks and their rules: ``hf_graph4mm/testing/synthetic.py``. Variants (Graph4MMConfig settings):
Hop-Diffused, Hop-Aware, Hop-Diffused + Hop-Aware (not in the paper), Hop-Diffused without text
structure / without image structure,
no structure (Q-Former over unstructured node sets), MMGL-style concat (image tokens straight
into the LM, no Q-Former). Every variant of a seed starts from the same backbones (tiny CLIP
frozen at its random initialisation = a fixed random image encoder; tiny OPT trained) and gets
the same data, order, optimiser and steps; evaluation is greedy ``generate()`` on a held-out
split: BLEU-4 / ROUGE-L / CIDEr-D / exact match for far_colour, accuracy for near_majority and linked_colour,
mean +- sample std over the seeds, with the wall time of each run. The second round (both slot
orders, paired tests, K x alpha) is ``benchmarks/structure_study.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hf_graph4mm.training.variants import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
