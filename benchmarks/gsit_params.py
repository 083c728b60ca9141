"""Parameter counts of GsiT and its MulT baseline per published setting (text encoder excluded).

    python benchmarks/gsit_params.py

Prints a markdown table: conv projections, fusion, head, total, and the published figure
(GsiT 1.695M is the count without the two head layers; MulT 5.251M includes its head).
"""

from __future__ import annotations

from hf_graph4mm import GsiTConfig, GsiTForSequenceClassification

MOSI = {"text_dim": 768, "audio_dim": 5, "vision_dim": 20}
MOSEI = {"text_dim": 768, "audio_dim": 74, "vision_dim": 35}

# (name, config fields, published figure or "")
VARIANTS = [
    ("MOSI GsiT (tied layers)", {**MOSI}, "1.695M without head"),
    ("MOSI GsiT (untied layers)", {**MOSI, "tie_layers": False}, ""),
    ("MOSI MulT", {**MOSI, "fusion": "mult"}, "5.251M"),
    ("MOSEI GsiT (tied layers)", {**MOSEI}, ""),
    (
        "MOSEI MulT (kernels 5/1/3)",
        {**MOSEI, "fusion": "mult", "audio_kernel_size": 1, "vision_kernel_size": 3},
        "",
    ),
]


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def main() -> None:
    columns = ["variant", "projections", "fusion", "head", "total", "total - head", "published"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for name, fields, published in VARIANTS:
        model = GsiTForSequenceClassification(GsiTConfig(**fields))
        parts = [count(model.model.projections), count(model.model.fusion), count(model.head)]
        total = count(model)
        cells = [name, *(f"{n:,}" for n in parts), f"{total:,}", f"{total - parts[2]:,}", published]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()
