"""One attention backend name for a whole composite model: what each part runs.

transformers spreads a plain ``attn_implementation`` to every sub-config of a composite model. Ours
do the same, with one translation: "triton" names our own kernels, which exist for our attention
modules only, so a stock transformers backbone (a CLIP vision tower, an OPT/Llama LM, a BERT text
encoder) runs "sdpa" under it.
"""

from __future__ import annotations

BACKBONE_ATTENTION = {"triton": "sdpa"}


def attn_implementation_per_part(config, name: str, own_parts: tuple[str, ...] = ()) -> dict[str, str]:
    """``{"": name, part: backend}`` for every sub-config of ``config`` that is set.

    ``own_parts``: sub-configs of our own modules, which run ``name`` itself; the others are backbones.
    """
    spread = {"": name}
    for key in config.sub_configs:
        if getattr(config, key, None) is not None:
            spread[key] = name if key in own_parts else BACKBONE_ATTENTION.get(name, name)
    return spread


def refresh_attention_backends(model) -> None:
    """Have every attention module of ``model`` resolve its backend from its config again (after
    ``set_attn_implementation`` changed the configs): backends are resolved when set, not per call."""
    for module in model.modules():
        if module is not model and hasattr(module, "refresh_backend"):
            module.refresh_backend()
