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


class ResolvesBackend:
    """Mixed into an attention module with a ``config``: ``backends`` (the core's table, a class attribute)
    is asked once for ``config._attn_implementation``, when the backend is set, not at every call."""

    backends = None  # an AttentionCoreInterface instance

    def refresh_backend(self) -> None:
        """Resolve ``config._attn_implementation`` to this module's attention function (validated once)."""
        self.backend = self.config._attn_implementation
        self.attention_function = self.backends.get_interface(self.backend)

    def resolved_attention(self):
        """The attention function; re-resolved only if the config was edited directly (one string compare)."""
        if self.config._attn_implementation != self.backend:
            self.refresh_backend()
        return self.attention_function
