"""Graph4MM configuration: a composite of vision, language-model and MM-QFormer configs."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from ..attention_parts import attn_implementation_per_part

STRUCTURES = ("hop_diffused", "hop_aware", "hop_diffused_aware", "none")
DIFFUSED_STRUCTURES = ("hop_diffused", "hop_diffused_aware")
FUSIONS = ("qformer", "concat")

# Fields checked on every assignment, not only in __post_init__: from_pretrained(path, structure=...)
# sets its keyword arguments on the loaded config, after __post_init__ has run.
CHOICES = {"structure": STRUCTURES, "fusion": FUSIONS}


@strict
class Graph4MMQFormerConfig(PreTrainedConfig):
    """The MM-QFormer and the graph modules in front of it share this width.

    Defaults are the paper's: one block, BERT-base width (as BLIP-2's Q-Former).
    ``num_attention_heads`` is also the head count of Hop-Diffused Attention.
    """

    model_type = "graph4mm_qformer"
    base_config_key = "qformer_config"

    hidden_size: int = 768
    num_hidden_layers: int = 1
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float | int = 0.1
    attention_probs_dropout_prob: float | int = 0.1
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"qformer hidden_size {self.hidden_size} is not divisible by num_attention_heads "
                f"{self.num_attention_heads}"
            )
        if self.num_hidden_layers < 1:
            raise ValueError(f"qformer num_hidden_layers must be >= 1, got {self.num_hidden_layers}")


@strict
class Graph4MMConfig(PreTrainedConfig):
    """Configuration of :class:`Graph4MMForConditionalGeneration`.

    Args:
        vision_config: any CLIP-like vision encoder config (its model must return ``pooler_output``).
        text_config: the causal LM's config (any ``AutoModelForCausalLM`` type).
        qformer_config: :class:`Graph4MMQFormerConfig` (width of the graph modules and the MM-QFormer).
        text_encoder_config: optional separate encoder for text nodes; ``None`` (default) embeds text
            nodes with the LM itself (masked mean of its last hidden state).
        structure: "hop_diffused" (paper), "hop_aware" (learned hop embeddings, no diffusion),
            "hop_diffused_aware" (both: hop embeddings added before the diffusion; not in the paper) or "none".
        text_structure / image_structure: the ablation switches; ``False`` drops the structure module of
            that subgraph only.
        fusion: "qformer" (Graph4MM) or "concat" (the MMGL baseline: each image node's vision embedding
            projected linearly to ``num_query_tokens_per_image`` LM tokens; no structure, no Q-Former).
        diffusion_alpha: teleport weight of the diffusion, in (0, 1). Default 0.1, the standard
            personalised-PageRank / APPNP teleport: with K = 2 the normalised weights are about
            0.37 / 0.33 / 0.30, so the 1- and 2-hop neighbours count almost as much as the node itself
            (a larger alpha, e.g. 0.5, would give 0.57 / 0.29 / 0.14 and mostly ignore the 2-hop ring).
        diffusion_steps: K, the truncation of the diffusion series (paper: 2).
        diffusion_normalize_weights: divide by ``sum_i theta_i`` so the truncated weights sum to 1
            (the published code leaves them unnormalised, shrinking the aggregate by ``1 - (1-alpha)^(K+1)``).
        num_query_tokens_per_image: M per image node (paper: 4).
        max_image_nodes / max_text_nodes: neighbour budget (paper: 5 images incl. the target, 12 texts): the
            most node slots a batch may carry per subgraph; the processor keeps the nearest nodes within it.
        max_hops: tau, the neighbourhood radius; hop-aware embeddings cover 0..tau plus "unreachable".
        image_token_id: id of the ``<image>`` placeholder in the prompt.
        freeze_vision_model / freeze_language_model: keep those backbones frozen (paper: both frozen).

    ``num_query_tokens = num_query_tokens_per_image * max_image_nodes`` placeholders are expected per sample.
    """

    model_type = "graph4mm"
    sub_configs_defaults = {
        "vision_config": SubConfigSpec(config_class=AutoConfig, model_type="clip_vision_model"),
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="opt"),
        "qformer_config": Graph4MMQFormerConfig,
        "text_encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert", optional=True),
    }

    vision_config: dict | PreTrainedConfig | None = None
    text_config: dict | PreTrainedConfig | None = None
    qformer_config: dict | PreTrainedConfig | None = None
    text_encoder_config: dict | PreTrainedConfig | None = None
    structure: str = "hop_diffused"
    text_structure: bool = True
    image_structure: bool = True
    fusion: str = "qformer"
    diffusion_alpha: float = 0.1
    diffusion_steps: int = 2
    diffusion_normalize_weights: bool = True
    num_query_tokens_per_image: int = 4
    max_image_nodes: int = 5
    max_text_nodes: int = 12
    max_hops: int = 2
    image_token_id: int | None = None
    freeze_vision_model: bool = True
    freeze_language_model: bool = True
    initializer_range: float = 0.02

    def __setattr__(self, name, value):
        choices = CHOICES.get(name)
        if choices is not None and value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
        super().__setattr__(name, value)

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if not 0.0 < self.diffusion_alpha < 1.0:
            raise ValueError(f"diffusion_alpha must lie in (0, 1), got {self.diffusion_alpha}")
        for name in ("num_query_tokens_per_image", "max_image_nodes", "max_text_nodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("diffusion_steps", "max_hops"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def _attn_implementation(self):
        return self._attn_implementation_internal

    @_attn_implementation.setter
    def _attn_implementation(self, value: str | dict | None):
        """A plain name reaches every part that supports it, as in transformers: our graph modules and the
        MM-QFormer (``qformer_config``) run it, and so do the backbones (vision encoder, LM, text encoder),
        except that a backbone runs "sdpa" where it has no such backend ("triton": our kernels exist for
        our modules only). A dict changes exactly the parts it names, as in transformers
        (``{"": "triton", "qformer_config": "sdpa", "text_config": "eager"}``).
        """
        if isinstance(value, str):
            value = self.attn_implementation_per_part(value)
        PreTrainedConfig._attn_implementation.fset(self, value)

    def attn_implementation_per_part(self, name: str) -> dict[str, str]:
        """``{"": name, sub-config: its backend}`` for a plain name (see the ``_attn_implementation`` setter)."""
        return attn_implementation_per_part(self, name, own_parts=("qformer_config",))

    @property
    def num_query_tokens(self) -> int:
        """How many ``<image>`` placeholders each prompt carries (and how many queries the MM-QFormer has)."""
        return self.num_query_tokens_per_image * self.max_image_nodes

    @property
    def uses_structure(self) -> bool:
        return self.fusion == "qformer" and self.structure != "none"

    @property
    def uses_diffusion(self) -> bool:
        """Whether a Hop-Diffused Attention module (and so its attention backend) is in the model."""
        return self.uses_structure and self.structure in DIFFUSED_STRUCTURES


__all__ = ["Graph4MMConfig", "Graph4MMQFormerConfig"]
