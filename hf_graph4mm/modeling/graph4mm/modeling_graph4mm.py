"""Graph4MM: subgraph node embeddings -> Hop-Diffused (or Hop-Aware) structure -> MM-QFormer -> frozen LM.

The model writes its ``num_query_tokens`` projected query outputs into the LM's input
embeddings at the ``<image>`` placeholders of the prompt (docs/CONTRACTS.md) and trains
with the LM loss on the answer tokens only.

Attention backends: ``config._attn_implementation`` of this (top-level) config selects the
backend of *our* graph and Q-Former modules ("eager", "sdpa", "triton"); the vision encoder
and the LM keep their own (transformers' default, sdpa) unless a dict such as
``{"": "triton", "text_config": "eager"}`` names them.

PEFT (peft 0.21):
- LoRA: ``get_peft_model(model, LoraConfig(target_modules=r".*language_model.*\\.(q_proj|v_proj)",
  modules_to_save=[...Graph4MM parts...]))`` on the whole model; adapters save and load as usual.
- Prefix tuning: wrap the LM, ``model.language_model = get_peft_model(model.language_model,
  PrefixTuningConfig(task_type="CAUSAL_LM", ...))``. Wrapping the composite does not work: PEFT's
  prompt-learning forward embeds ``input_ids`` itself and passes ``inputs_embeds`` alongside them, and
  prepends to the attention mask, which clashes with the placeholder scatter. Training and
  :meth:`score_candidates` work; ``generate()`` does not, because PEFT replaces the LM's
  ``prepare_inputs_for_generation`` with a ``(*args, **kwargs)`` wrapper and transformers 5.23 then
  refuses ``inputs_embeds`` (it looks for that name in the signature).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationMixin,
    PreTrainedModel,
)
from transformers import initialization as init
from transformers.utils import ModelOutput

from ...kernels import HopDiffusedAttentionInterface, KeyMaskedAttentionInterface, check_implementation
from ...processing.input_names import GRAPH_INPUT_NAMES
from ..sharing import ShareableModelMixin
from .batch_checks import check_image_inputs, check_text_inputs, placeholder_positions
from .configuration_graph4mm import Graph4MMConfig
from .hop_attention import HopAwareEmbedding, HopDiffusedAttention, build_structure_module
from .language_inputs import answer_token_loss, left_align, position_ids_from_mask
from .node_embeddings import image_node_vectors, text_node_vectors
from .qformer import MMQFormer
from .zero_shot import Graph4MMCandidateScores, check_candidates, score_candidate_texts


@dataclass
class Graph4MMOutput(ModelOutput):
    """Output of :class:`Graph4MMForConditionalGeneration`.

    loss: mean LM loss over answer tokens (labels != -100), when labels are given.
    logits: ``[batch, length, vocab]`` LM logits.
    past_key_values: the LM's cache, when it returns one.
    hidden_states: the LM's hidden states, when asked for.
    query_embeds: ``[batch, num_query_tokens, lm_hidden]`` what was written at the placeholders.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    past_key_values: object | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    query_embeds: torch.Tensor | None = None


def _is_frozen(module: nn.Module) -> bool:
    return not any(parameter.requires_grad for parameter in module.parameters())


class Graph4MMPreTrainedModel(ShareableModelMixin, PreTrainedModel):
    config_class = Graph4MMConfig
    base_model_prefix = "graph4mm"
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["QFormerLayer", "HopDiffusedAttention"]
    _skip_keys_device_placement = ["past_key_values"]

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        std = self.config.initializer_range
        if isinstance(module, MMQFormer):
            init.normal_(module.query_tokens, mean=0.0, std=std)
        elif isinstance(module, HopAwareEmbedding):
            init.normal_(module.hop_embeddings.weight, mean=0.0, std=std)

    def get_correct_attn_implementation(self, requested_attention: str | None, is_init_check: bool = False):
        """Our graph/Q-Former modules accept "eager" (default), "sdpa", "triton" and "flex_attention".

        The name is resolved here, in each attention core's table, so that a backend that cannot
        load fails now and not in the middle of a forward pass.

        Raises:
            ValueError: an unknown name (listing the valid ones), a backend that cannot run here
                (saying why), or one an attention core does not provide.
        """
        name = "eager" if requested_attention is None else requested_attention
        check_implementation(name)
        if self.config.uses_structure and self.config.structure == "hop_diffused":
            HopDiffusedAttentionInterface().get_interface(name)
        KeyMaskedAttentionInterface().get_interface(name)
        return name

    def set_attn_implementation(self, attn_implementation: str | dict, allow_all_kernels: bool = False):
        """Switch our graph/Q-Former modules' backend; a dict ``{"": ..., "text_config": ...}`` also
        switches the named backbones. A plain string leaves the backbones as they are (transformers
        would spread it to every sub-model)."""
        if isinstance(attn_implementation, str):
            attn_implementation = {"": attn_implementation}
        super().set_attn_implementation(attn_implementation, allow_all_kernels)

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        """As ``PreTrainedModel.from_pretrained``; ``attn_implementation`` as in :meth:`set_attn_implementation`."""
        model = super().from_pretrained(*args, **kwargs)
        # Loading materialises fresh parameters (requires_grad=True): freeze again.
        freeze = getattr(model, "freeze_backbones", None)
        if freeze is not None:
            freeze()
        return model


class Graph4MMForConditionalGeneration(Graph4MMPreTrainedModel, GenerationMixin):
    """Graph4MM (and its MMGL "concat" baseline) on any causal LM.

    Trainable by default: node projections, structure modules, MM-QFormer, language projection
    (or, for ``fusion="concat"``, the image projection). Vision encoder and LM are frozen unless
    the config says otherwise.
    """

    main_input_name = "input_ids"
    accepts_loss_kwargs = True  # forward uses Trainer's num_items_in_batch

    def __init__(self, config: Graph4MMConfig):
        super().__init__(config)
        self.vision_model = AutoModel.from_config(config.vision_config)
        self.language_model = AutoModelForCausalLM.from_config(config.text_config)
        lm_width = self.language_model.get_input_embeddings().embedding_dim
        vision_width = config.vision_config.hidden_size
        if config.fusion == "concat":
            self.image_projection = nn.Linear(vision_width, config.num_query_tokens_per_image * lm_width)
        else:
            width = config.qformer_config.hidden_size
            self.text_encoder = (
                AutoModel.from_config(config.text_encoder_config) if config.text_encoder_config else None
            )
            text_width = config.text_encoder_config.hidden_size if self.text_encoder else lm_width
            self.image_node_projection = nn.Linear(vision_width, width)
            self.text_node_projection = nn.Linear(text_width, width)
            self.image_structure = build_structure_module(config, config.image_structure)
            self.text_structure = build_structure_module(config, config.text_structure)
            self.qformer = MMQFormer(config.qformer_config, config.num_query_tokens)
            self.language_projection = nn.Linear(width, lm_width)
        self.post_init()
        self.freeze_backbones()

    def freeze_backbones(self) -> None:
        """Apply the config's ``freeze_vision_model`` / ``freeze_language_model`` (the latter also covers
        a separate text encoder: both only embed text)."""
        if self.config.freeze_vision_model:
            self.vision_model.requires_grad_(False)
        if self.config.freeze_language_model:
            self.language_model.requires_grad_(False)
            if getattr(self, "text_encoder", None) is not None:
                self.text_encoder.requires_grad_(False)

    # -- plumbing transformers and PEFT expect ------------------------------------------------
    def get_input_embeddings(self):
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.language_model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.language_model.get_output_embeddings()

    def set_output_embeddings(self, new_embeddings):
        self.language_model.set_output_embeddings(new_embeddings)

    def get_decoder(self):
        return self.language_model.get_decoder()

    def train(self, mode: bool = True):
        """Frozen backbones stay in eval mode (no dropout) while the new parts train.

        Except a frozen LM with activation checkpointing on: transformers checkpoints only in
        training mode, and the LM's activations are what checkpointing saves (gradients still flow
        through it to the queries). A frozen vision encoder runs without gradients: always eval.
        """
        super().train(mode)
        if _is_frozen(self.vision_model):
            self.vision_model.eval()
        checkpointing = getattr(self.language_model, "is_activation_checkpointing", False)
        if _is_frozen(self.language_model) and not checkpointing:
            self.language_model.eval()
        return self

    # -- the multimodal prefix -------------------------------------------------------------------
    def _language_backbone(self) -> nn.Module:
        """The LM without its head (and without a PEFT prompt-learning wrapper around it)."""
        language_model = self.language_model
        if hasattr(language_model, "get_base_model"):  # e.g. prefix tuning wraps the LM in a PeftModel
            language_model = language_model.get_base_model()
        return language_model.base_model

    def _text_node_embeddings(self, input_ids, attention_mask, node_mask) -> torch.Tensor:
        """``[B, Nt, width]``: each text node's mean token state, from the text encoder or the LM itself."""
        encoder = self.text_encoder if self.text_encoder is not None else self._language_backbone()
        with torch.set_grad_enabled(torch.is_grad_enabled() and not _is_frozen(encoder)):
            vectors = text_node_vectors(encoder, input_ids, attention_mask, node_mask)
        return self.text_node_projection(vectors.to(self.text_node_projection.weight.dtype))

    def _image_vectors(self, pixel_values, image_embeds, node_mask) -> torch.Tensor:
        """``[B, Np, vision_width]`` pooled vision embedding per image node.

        From ``image_embeds`` when the caller precomputed them (a frozen encoder's outputs,
        cached once per image: see :meth:`encode_images`), else by running the vision encoder.
        """
        if image_embeds is not None:
            return image_embeds * node_mask[..., None].to(image_embeds.dtype)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not _is_frozen(self.vision_model)):
            return image_node_vectors(self.vision_model, pixel_values, node_mask)

    @torch.no_grad()
    def encode_images(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """``[images, 3, H, W]`` -> ``[images, vision_width]``: what ``image_embeds`` holds per image node."""
        dtype = next(self.vision_model.parameters()).dtype
        return self.vision_model(pixel_values=pixel_values.to(dtype)).pooler_output

    def get_query_embeddings(
        self,
        batch_size: int,
        text_input_ids=None,
        text_attention_mask=None,
        text_node_mask=None,
        text_adjacency=None,
        text_hops=None,
        pixel_values=None,
        image_node_mask=None,
        image_adjacency=None,
        image_hops=None,
        image_embeds=None,
    ) -> torch.Tensor:
        """``[batch, num_query_tokens, lm_hidden]``: what goes into the placeholders.

        Images come as ``pixel_values [B, Np, 3, H, W]`` or, precomputed by the frozen vision
        encoder, as ``image_embeds [B, Np, vision_width]`` (not both).
        """
        device = self.language_model.device
        if pixel_values is not None and image_embeds is not None:
            raise ValueError("give pixel_values or image_embeds, not both")
        images = pixel_values if pixel_values is not None else image_embeds
        if images is not None:
            check_image_inputs(images, image_node_mask, image_adjacency, image_hops, batch_size)
        if self.config.fusion == "concat":
            return self._concat_image_tokens(pixel_values, image_embeds, image_node_mask, batch_size, device)

        width = self.config.qformer_config.hidden_size
        dtype = self.qformer.query_tokens.dtype
        if text_input_ids is not None:
            check_text_inputs(
                text_input_ids, text_attention_mask, text_node_mask, text_adjacency, text_hops, batch_size
            )
            text_nodes = self._text_node_embeddings(text_input_ids, text_attention_mask, text_node_mask)
            text_nodes = self._apply_structure("text", text_nodes, text_node_mask, text_adjacency, text_hops)
        else:
            text_nodes = torch.zeros(batch_size, 0, width, device=device, dtype=dtype)
            text_node_mask = torch.zeros(batch_size, 0, dtype=torch.bool, device=device)
        if images is not None:
            image_vectors = self._image_vectors(pixel_values, image_embeds, image_node_mask)
            image_nodes = self.image_node_projection(image_vectors.to(dtype))
            image_nodes = self._apply_structure(
                "image", image_nodes, image_node_mask, image_adjacency, image_hops
            )
        else:
            image_nodes = torch.zeros(batch_size, 0, width, device=device, dtype=dtype)
            image_node_mask = torch.zeros(batch_size, 0, dtype=torch.bool, device=device)
        queries = self.qformer(text_nodes, text_node_mask, image_nodes, image_node_mask)
        return self.language_projection(queries)

    def _apply_structure(self, modality: str, nodes, node_mask, adjacency, hops) -> torch.Tensor:
        """Run ``{modality}_structure`` on ``nodes [B, N, width]``, checking it has the inputs it needs."""
        module = getattr(self, f"{modality}_structure")
        if isinstance(module, HopDiffusedAttention) and adjacency is None:
            raise ValueError(
                f"{modality}_adjacency is required: the {modality} subgraph uses Hop-Diffused Attention"
            )
        if isinstance(module, HopAwareEmbedding) and hops is None:
            raise ValueError(
                f"{modality}_hops is required: the {modality} subgraph uses Hop-Aware embeddings"
            )
        return module(nodes, node_mask, adjacency, hops)

    def _concat_image_tokens(
        self, pixel_values, image_embeds, image_node_mask, batch_size, device
    ) -> torch.Tensor:
        """MMGL baseline: ``num_query_tokens_per_image`` LM tokens per image node, zeros for empty slots."""
        per_image = self.config.num_query_tokens_per_image
        lm_width = self.lm_embedding_width
        slots = torch.zeros(batch_size, self.config.max_image_nodes, per_image, lm_width, device=device)
        images = pixel_values if pixel_values is not None else image_embeds
        if images is not None:
            num_images = images.shape[1]
            if num_images > self.config.max_image_nodes:
                raise ValueError(
                    f"the batch has {num_images} image node slots; config.max_image_nodes is "
                    f"{self.config.max_image_nodes}"
                )
            vectors = self._image_vectors(pixel_values, image_embeds, image_node_mask)
            tokens = self.image_projection(vectors.to(self.image_projection.weight.dtype))
            tokens = tokens * image_node_mask[..., None].to(tokens.dtype)
            slots = slots.to(tokens.dtype)
            slots[:, :num_images] = tokens.view(batch_size, num_images, per_image, lm_width)
        return slots.view(batch_size, -1, lm_width)

    @property
    def lm_embedding_width(self) -> int:
        return self.language_model.get_input_embeddings().embedding_dim

    def build_inputs_embeds(
        self, input_ids: torch.Tensor, **graph_inputs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The LM's ``inputs_embeds [B, L, D]`` with the query outputs at the placeholders, and those outputs."""
        placeholders = placeholder_positions(
            input_ids, self.config.image_token_id, self.config.num_query_tokens
        )
        query_embeds = self.get_query_embeddings(input_ids.shape[0], **graph_inputs)
        # The placeholder id may lie outside the LM's vocabulary: look up a harmless id instead.
        token_embeds = self.get_input_embeddings()(input_ids.masked_fill(placeholders, 0))
        query_embeds = query_embeds.to(token_embeds.dtype)
        inputs_embeds = token_embeds.masked_scatter(placeholders[..., None], query_embeds)
        return inputs_embeds, query_embeds

    # -- training / scoring forward ---------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        text_input_ids: torch.Tensor | None = None,
        text_attention_mask: torch.Tensor | None = None,
        text_node_mask: torch.Tensor | None = None,
        text_adjacency: torch.Tensor | None = None,
        text_hops: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        image_embeds: torch.Tensor | None = None,
        image_node_mask: torch.Tensor | None = None,
        image_adjacency: torch.Tensor | None = None,
        image_hops: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        num_items_in_batch: torch.Tensor | int | None = None,
        **kwargs,
    ) -> Graph4MMOutput:
        """Shapes as in docs/CONTRACTS.md; ``labels`` -100 everywhere except answer tokens."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs_embeds, query_embeds = self.build_inputs_embeds(
            input_ids,
            text_input_ids=text_input_ids,
            text_attention_mask=text_attention_mask,
            text_node_mask=text_node_mask,
            text_adjacency=text_adjacency,
            text_hops=text_hops,
            pixel_values=pixel_values,
            image_embeds=image_embeds,
            image_node_mask=image_node_mask,
            image_adjacency=image_adjacency,
            image_hops=image_hops,
        )
        outputs = self.language_model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids_from_mask(attention_mask),
            output_hidden_states=output_hidden_states,
            return_dict=True,
            **kwargs,
        )
        loss = None
        if labels is not None:
            loss = answer_token_loss(outputs.logits, labels, attention_mask, num_items_in_batch)
        return Graph4MMOutput(
            loss=loss,
            logits=outputs.logits,
            past_key_values=getattr(outputs, "past_key_values", None),
            hidden_states=getattr(outputs, "hidden_states", None),
            query_embeds=query_embeds,
        )

    def _aligned_prompt(self, input_ids, attention_mask, graph_inputs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs_embeds, _ = self.build_inputs_embeds(input_ids, **graph_inputs)
        return left_align(inputs_embeds, attention_mask)

    @torch.no_grad()
    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs):
        """Generate the answer after each prompt; returns only the new tokens ``[batch, new_tokens]``.

        Graph inputs (``text_*``, ``pixel_values``, ``image_*``) go with the prompt; any other keyword
        is a generation argument for the LM (``max_new_tokens``, ``do_sample``, ``use_cache``...). Left-
        or right-padded batches both work: padding is moved to the left before generating.
        """
        graph_inputs = {name: kwargs.pop(name) for name in GRAPH_INPUT_NAMES if name in kwargs}
        kwargs.pop("labels", None)
        inputs_embeds, attention_mask = self._aligned_prompt(input_ids, attention_mask, graph_inputs)
        return self.language_model.generate(
            inputs_embeds=inputs_embeds, attention_mask=attention_mask, **kwargs
        )

    @torch.no_grad()
    def score_candidates(
        self,
        candidate_input_ids: torch.Tensor,
        input_ids: torch.Tensor,
        candidate_attention_mask: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        reduction: str = "mean",
        **graph_inputs,
    ) -> Graph4MMCandidateScores:
        """Zero-shot classification: log-likelihood of each candidate text right after each prompt.

        Args:
            candidate_input_ids: ``[candidates, tokens]`` right-padded label texts, tokenised *without*
                special tokens (no ``<s>``).
            input_ids, attention_mask, graph inputs: the prompt batch, as for :meth:`forward` (no labels).
            reduction: "mean" (per-token average, fair across label lengths) or "sum" to rank by.

        Returns:
            :class:`Graph4MMCandidateScores` with ``[batch, candidates]`` scores and the ranking.
        """
        graph_inputs.pop("labels", None)
        if candidate_attention_mask is None:
            candidate_attention_mask = torch.ones_like(candidate_input_ids)
        check_candidates(candidate_input_ids, candidate_attention_mask, reduction)
        prompt_embeds, prompt_mask = self._aligned_prompt(input_ids, attention_mask, graph_inputs)
        return score_candidate_texts(
            self.language_model,
            prompt_embeds,
            prompt_mask,
            candidate_input_ids,
            candidate_attention_mask,
            reduction,
        )

    # -- building from pretrained backbones ------------------------------------------------------
    @classmethod
    def from_backbones(
        cls, vision_model_name_or_path: str, language_model_name_or_path: str, **config_overrides
    ) -> Graph4MMForConditionalGeneration:
        """Pretrained vision encoder + pretrained causal LM, new parts freshly initialised.

        ``vision_model_name_or_path`` may hold a full CLIP checkpoint: its vision tower is used.
        Without ``image_token_id`` in ``config_overrides``, the LM's tokenizer's ``<image>`` id is
        used, or, if it has none, ``len(tokenizer)`` (the id ``<image>`` gets once added to it).
        """
        vision_config = AutoConfig.from_pretrained(vision_model_name_or_path)
        vision_config = getattr(vision_config, "vision_config", None) or vision_config
        text_config = AutoConfig.from_pretrained(language_model_name_or_path)
        if "image_token_id" not in config_overrides:
            config_overrides["image_token_id"] = _image_token_id_of(language_model_name_or_path)
        config = Graph4MMConfig(vision_config=vision_config, text_config=text_config, **config_overrides)
        model = cls(config)
        vision_model = AutoModel.from_pretrained(vision_model_name_or_path, config=vision_config)
        language_model = AutoModelForCausalLM.from_pretrained(language_model_name_or_path)
        model.vision_model.load_state_dict(vision_model.state_dict())
        model.language_model.load_state_dict(language_model.state_dict())
        model.language_model.generation_config = language_model.generation_config
        return model


def _image_token_id_of(language_model_name_or_path: str) -> int:
    try:
        tokenizer = AutoTokenizer.from_pretrained(language_model_name_or_path)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"no tokenizer could be loaded from {language_model_name_or_path!r} to find the <image> "
            f"placeholder id; pass image_token_id=... ({error})"
        ) from error
    vocab = tokenizer.get_vocab()
    return vocab["<image>"] if "<image>" in vocab else len(tokenizer)


__all__ = [
    "Graph4MMCandidateScores",
    "Graph4MMForConditionalGeneration",
    "Graph4MMOutput",
    "Graph4MMPreTrainedModel",
]
