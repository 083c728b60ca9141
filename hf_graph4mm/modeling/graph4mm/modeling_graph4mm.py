"""Graph4MM: subgraph node embeddings -> Hop-Diffused (or Hop-Aware) structure -> MM-QFormer -> frozen LM.

The model writes its ``num_query_tokens`` projected query outputs into the LM's input embeddings at
the ``<image>`` placeholders of the prompt (docs/CONTRACTS.md), trains with the LM loss on the answer
tokens only, and generates as transformers' BLIP-2 and LLaVA do: ``generate()`` returns the prompt
followed by the new tokens, and runs greedy, sampling, beam search, assisted decoding and cache
continuation through transformers' own loop (the graph is read on the prefill step only).

Attention backends: a plain ``attn_implementation`` reaches every part that supports it (our graph
modules, the MM-QFormer, and the backbones; "triton" exists for our modules only, so the backbones
run sdpa under it); a dict targets parts (``{"": "triton", "text_config": "eager"}``).

PEFT (peft 0.22):
- LoRA: ``get_peft_model(model, LoraConfig(target_modules=r".*language_model.*\\.(q_proj|v_proj)",
  modules_to_save=[...Graph4MM parts...]))`` on the whole model; adapters save and load as usual.
- Prefix tuning: wrap the LM, ``model.language_model = get_peft_model(model.language_model,
  PrefixTuningConfig(task_type="CAUSAL_LM", ...))``. Wrapping the composite does not work: PEFT's
  prompt-learning forward embeds ``input_ids`` itself and passes ``inputs_embeds`` alongside them, and
  prepends to the attention mask, which clashes with the placeholder scatter. Training and
  :meth:`score_candidates` work.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
)
from transformers import initialization as init
from transformers.utils import ModelOutput
from transformers.utils.deprecation import deprecate_kwarg

from ...graph_batch import GraphInputs, SubgraphInputs, require_all
from ...kernels import HopDiffusedAttentionInterface, KeyMaskedAttentionInterface, check_implementation
from ..attention_parts import refresh_attention_backends
from ..sharing import ShareableModelMixin
from .configuration_graph4mm import Graph4MMConfig
from .generation import Graph4MMGenerationMixin
from .language_inputs import answer_token_loss, position_ids_from_mask
from .node_embeddings import (
    gather_nodes,
    image_node_outputs,
    real_node_rows,
    scatter_nodes,
    text_node_vectors,
)
from .qformer import MMQFormer
from .structure import HopAwareEmbedding, build_structure_module
from .zero_shot import Graph4MMCandidateScores


@dataclass
class Graph4MMOutput(ModelOutput):
    """Output of :class:`Graph4MMForConditionalGeneration`.

    loss: mean LM loss over answer tokens (labels != -100), when labels are given.
    logits: ``[batch, length, vocab]`` LM logits (the last ``logits_to_keep`` positions when asked).
    cache: the LM's key/value cache, when it returns one (``past_key_values`` reads it too).
    hidden_states, attentions: the LM's, when asked for.
    query_embeds: ``[batch, num_query_tokens, lm_hidden]`` what was written at the placeholders.
    image_embeds: ``[batch, image_nodes, vision_width]`` the vision encoder's pooled output per image node
        (zeros on padded slots); fed back as the ``image_embeds`` input, it skips the encoder.
    image_outputs: the vision encoder's whole output (``last_hidden_state``, ``pooler_output``, and hidden
        states / attentions when its config asks) for the real image nodes, in row-major order of
        ``image_node_mask``; None when ``image_embeds`` were given or the batch has no image.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    cache: object | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
    query_embeds: torch.Tensor | None = None
    image_embeds: torch.Tensor | None = None
    image_outputs: ModelOutput | None = None


@dataclass
class VisionOutputs:
    """What the vision side produced for a batch (see :class:`Graph4MMOutput`)."""

    image_embeds: torch.Tensor | None = None
    image_outputs: ModelOutput | None = None


def _is_frozen(module: nn.Module) -> bool:
    return not any(parameter.requires_grad for parameter in module.parameters())


class Graph4MMPreTrainedModel(ShareableModelMixin, PreTrainedModel):
    config_class = Graph4MMConfig
    base_model_prefix = "graph4mm"
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flex_attn = True
    # our own blocks; transformers adds the backbones' (CLIPEncoderLayer, OPTDecoderLayer, ...)
    _no_split_modules = ["QFormerLayer", "HopDiffusedAttention"]
    _skip_keys_device_placement = ["past_key_values", "cache"]

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
        if self.config.uses_diffusion:
            HopDiffusedAttentionInterface().get_interface(name)
        KeyMaskedAttentionInterface().get_interface(name)
        return name

    def set_attn_implementation(self, attn_implementation: str | dict, allow_all_kernels: bool = False):
        """Switch backends: a plain name reaches our modules, the MM-QFormer and the backbones (which run sdpa
        for "triton"); a dict ``{"": ..., "qformer_config": ..., "text_config": ...}`` changes exactly the parts
        it names (``""``: the graph structure modules)."""
        parts = (
            self.config.attn_implementation_per_part(attn_implementation)
            if isinstance(attn_implementation, str)
            else dict(attn_implementation)
        )
        qformer = parts.pop("qformer_config", None)
        super().set_attn_implementation(parts, allow_all_kernels)
        if qformer is not None:  # no PreTrainedModel owns this sub-config: transformers would not set it
            KeyMaskedAttentionInterface().get_interface(qformer)
            self.config.qformer_config._attn_implementation_internal = qformer
        refresh_attention_backends(self)

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        """As ``PreTrainedModel.from_pretrained``; ``attn_implementation`` as in :meth:`set_attn_implementation`."""
        loaded = super().from_pretrained(*args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded  # (model, info) with output_loading_info
        # Loading materialises fresh parameters (requires_grad=True): freeze again.
        freeze = getattr(model, "freeze_backbones", None)
        if freeze is not None:
            freeze()
        return loaded


class Graph4MMForConditionalGeneration(Graph4MMPreTrainedModel, Graph4MMGenerationMixin):
    """Graph4MM (and its MMGL "concat" baseline) on any causal LM.

    Trainable by default: node projections, structure modules, MM-QFormer, language projection
    (or, for ``fusion="concat"``, the image projection). Vision encoder and LM are frozen unless
    the config says otherwise; a frozen backbone runs in eval mode (no dropout) while the rest trains.
    """

    main_input_name = "input_ids"
    accepts_loss_kwargs = True  # forward uses Trainer's num_items_in_batch

    def __init__(self, config: Graph4MMConfig):
        super().__init__(config)
        self.vision_model = AutoModel.from_config(config.vision_config)
        self.language_model = AutoModelForCausalLM.from_config(config.text_config)
        lm_width = self.language_model.get_input_embeddings().embedding_dim
        vision_width = config.vision_config.hidden_size
        self.text_encoder = None
        if config.fusion == "concat":
            self.image_projection = nn.Linear(vision_width, config.num_query_tokens_per_image * lm_width)
        else:
            width = config.qformer_config.hidden_size
            if config.text_encoder_config:
                self.text_encoder = AutoModel.from_config(config.text_encoder_config)
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
            if self.text_encoder is not None:
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
        super().train(mode)
        self._set_backbone_modes()
        return self

    def _set_backbone_modes(self) -> None:
        """Frozen backbones run in eval mode (no dropout) while the new parts train; unfrozen ones train.

        Read again at every forward, so unfreezing a backbone (or adding adapters to it) after ``train()``
        takes effect at once. A frozen LM with activation checkpointing on stays in training mode:
        transformers checkpoints only there, and its activations are what checkpointing saves (gradients
        still flow through it to the queries). A frozen vision encoder or text encoder runs without
        gradients: nothing to checkpoint.
        """
        for backbone in (self.vision_model, self.language_model, self.text_encoder):
            if backbone is None:
                continue
            checkpointing = backbone is self.language_model and getattr(backbone, "is_activation_checkpointing", False)
            wanted = self.training and (checkpointing or not _is_frozen(backbone))
            if backbone.training != wanted:
                backbone.train(wanted)

    # -- the multimodal prefix -------------------------------------------------------------------
    def _language_backbone(self) -> nn.Module:
        """The LM without its head (and without a PEFT prompt-learning wrapper around it)."""
        language_model = self.language_model
        if hasattr(language_model, "get_base_model"):  # e.g. prefix tuning wraps the LM in a PeftModel
            language_model = language_model.get_base_model()
        return language_model.base_model

    def _text_node_states(self, text: SubgraphInputs) -> torch.Tensor:
        """``[B, Nt, width]``: each text node's mean token state (from the text encoder or the LM itself),
        projected, then its structure module; zeros on padded slots."""
        rows = real_node_rows(text.node_mask)
        encoder = self.text_encoder if self.text_encoder is not None else self._language_backbone()
        with torch.set_grad_enabled(torch.is_grad_enabled() and not _is_frozen(encoder)):
            vectors = text_node_vectors(encoder, gather_nodes(text.input_ids, rows), gather_nodes(text.attention_mask, rows))
        projected = self.text_node_projection(vectors.to(self.text_node_projection.weight.dtype))
        return self.text_structure(scatter_nodes(projected, rows, text.node_mask), text)

    def _image_vectors(self, image: SubgraphInputs, rows: torch.Tensor | None):
        """``([rows, vision_width], vision output or None)``: the pooled vision embedding of the chosen image
        slots, from the ``image_embeds`` the caller precomputed (a frozen encoder's outputs, see
        :meth:`encode_images`), else from the encoder, whose whole output comes along."""
        if image.image_embeds is not None:
            return gather_nodes(image.image_embeds, rows), None
        with torch.set_grad_enabled(torch.is_grad_enabled() and not _is_frozen(self.vision_model)):
            outputs = image_node_outputs(self.vision_model, gather_nodes(image.pixel_values, rows))
        if outputs is None:
            return image.pixel_values.new_zeros(0, self.config.vision_config.hidden_size), None
        return outputs.pooler_output, outputs

    @torch.no_grad()
    def encode_images(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """``[images, 3, H, W]`` -> ``[images, vision_width]``: what ``image_embeds`` holds per image node."""
        outputs = image_node_outputs(self.vision_model, pixel_values)
        return pixel_values.new_zeros(0, self.config.vision_config.hidden_size) if outputs is None else outputs.pooler_output

    def get_query_embeddings(self, graph: GraphInputs, batch_size: int) -> tuple[torch.Tensor, VisionOutputs]:
        """What goes into the placeholders, and the vision outputs it was made from.

        Returns:
            ``[batch, num_query_tokens, lm_hidden]`` query embeddings, and the vision outputs
            (:class:`VisionOutputs`).
        """
        graph.check(batch_size, {"text": self.config.max_text_nodes, "image": self.config.max_image_nodes})
        image = graph.image
        vision, image_rows, image_vectors = VisionOutputs(), None, None
        if image is not None:
            image_rows = real_node_rows(image.node_mask)
            image_vectors, vision.image_outputs = self._image_vectors(image, image_rows)
            vision.image_embeds = scatter_nodes(image_vectors, image_rows, image.node_mask)
        if self.config.fusion == "concat":
            return self._concat_image_tokens(image, image_rows, image_vectors, batch_size), vision

        width, dtype = self.config.qformer_config.hidden_size, self.qformer.query_tokens.dtype
        device = self.language_model.device
        empty_states = torch.zeros(batch_size, 0, width, device=device, dtype=dtype)
        empty_mask = torch.zeros(batch_size, 0, dtype=torch.bool, device=device)
        text_states, text_mask = empty_states, empty_mask
        if graph.text is not None:
            text_states, text_mask = self._text_node_states(graph.text), graph.text.node_mask
        image_states, image_mask = empty_states, empty_mask
        if image is not None:
            projected = self.image_node_projection(image_vectors.to(dtype))
            image_states = self.image_structure(scatter_nodes(projected, image_rows, image.node_mask), image)
            image_mask = image.node_mask
        queries = self.qformer(text_states, text_mask, image_states, image_mask)
        return self.language_projection(queries), vision

    def _concat_image_tokens(self, image, rows, vectors, batch_size) -> torch.Tensor:
        """MMGL baseline: ``num_query_tokens_per_image`` LM tokens per image node slot, zeros for empty slots."""
        per_image, lm_width = self.config.num_query_tokens_per_image, self.lm_embedding_width
        slots = self.config.max_image_nodes
        if image is None:
            return torch.zeros(batch_size, slots * per_image, lm_width, device=self.language_model.device)
        tokens = self.image_projection(vectors.to(self.image_projection.weight.dtype))
        tokens = scatter_nodes(tokens, rows, image.node_mask)  # [B, Np, per_image * lm_width]
        tokens = F.pad(tokens, (0, 0, 0, slots - image.num_nodes))
        return tokens.reshape(batch_size, slots * per_image, lm_width)

    @property
    def lm_embedding_width(self) -> int:
        return self.language_model.get_input_embeddings().embedding_dim

    def _placeholder_mask(self, input_ids, inputs_embeds) -> torch.Tensor:
        """``[B, L]`` bool: where the prompt holds ``<image>`` placeholders (found in the embeddings when
        only those are given, as LLaVA does)."""
        image_token_id = self.config.image_token_id
        if image_token_id is None:
            raise ValueError(
                "config.image_token_id is None: set it to the tokenizer's id of the <image> placeholder token"
            )
        if input_ids is not None:
            return input_ids == image_token_id
        embeddings = self.get_input_embeddings()
        if image_token_id >= embeddings.num_embeddings:
            raise ValueError(
                f"the <image> id {image_token_id} has no row in the LM's embeddings, so placeholders cannot "
                "be found in inputs_embeds: pass input_ids"
            )
        placeholder = embeddings(torch.tensor(image_token_id, device=inputs_embeds.device))
        return (inputs_embeds == placeholder.to(inputs_embeds.dtype)).all(dim=-1)

    def build_inputs_embeds(
        self,
        input_ids: torch.Tensor | None,
        graph: GraphInputs,
        inputs_embeds: torch.Tensor | None = None,
        continuing: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """The LM's ``inputs_embeds [B, L, D]`` with the query outputs at the placeholders.

        Args:
            input_ids / inputs_embeds: this step's prompt (one of them).
            graph: the batch's graph inputs.
            continuing: a cache already holds earlier tokens: a step without placeholders (a decode step,
                or a continuation whose prompt is cached) writes nothing; on a fresh prompt every sample
                must hold exactly ``num_query_tokens`` placeholders.

        Without graph inputs the step is the LM's alone (a decode step, or a text-only prompt, as LLaVA runs
        one without ``pixel_values``).

        Returns:
            ``(inputs_embeds, query_embeds or None, VisionOutputs)``.
        """
        if graph.is_empty:
            return self._text_only_embeds(input_ids, inputs_embeds), None, VisionOutputs()
        placeholders = self._placeholder_mask(input_ids, inputs_embeds)
        if inputs_embeds is None:
            # The placeholder id may lie outside the LM's vocabulary: look up a harmless id instead.
            inputs_embeds = self.get_input_embeddings()(input_ids.masked_fill(placeholders, 0))
        if continuing and not (torch.compiler.is_compiling() or bool(placeholders.any())):
            return inputs_embeds, None, VisionOutputs()
        expected, counts = self.config.num_query_tokens, placeholders.sum(dim=1)
        allowed = (counts == expected) | (counts == 0) if continuing else counts == expected
        require_all(
            allowed,
            lambda: _placeholder_count_message(counts, allowed, expected, self.config.image_token_id),
            f"a sample of input_ids does not hold num_query_tokens = {expected} <image> placeholders",
        )
        query_embeds, vision = self.get_query_embeddings(graph, inputs_embeds.shape[0])
        query_embeds = query_embeds.to(inputs_embeds.dtype)
        inputs_embeds = inputs_embeds.masked_scatter(placeholders[..., None], query_embeds)
        return inputs_embeds, query_embeds, vision

    def _text_only_embeds(self, input_ids, inputs_embeds) -> torch.Tensor:
        if inputs_embeds is not None:
            return inputs_embeds
        embeddings = self.get_input_embeddings()
        if self.config.image_token_id is not None and self.config.image_token_id >= embeddings.num_embeddings:
            require_all(
                input_ids != self.config.image_token_id,
                lambda: "input_ids hold <image> placeholders but no graph inputs were given (text_*, pixel_values "
                "or image_embeds, image_*): the processor's batch carries both",
                "input_ids hold <image> placeholders but no graph inputs were given",
            )
        return embeddings(input_ids)

    # -- forward: training, scoring and every generation step ----------------------------------------
    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    def forward(
        self,
        input_ids: torch.Tensor | None = None,
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
        inputs_embeds: torch.Tensor | None = None,
        cache: object | None = None,
        position_ids: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        shift_labels: torch.Tensor | None = None,
        num_items_in_batch: torch.Tensor | int | None = None,
        **kwargs,
    ) -> Graph4MMOutput | tuple:
        """Shapes as in docs/CONTRACTS.md; ``labels`` -100 everywhere except answer tokens.

        Args:
            input_ids / inputs_embeds: the prompt (exactly one); placeholders are found in either.
            graph inputs (``text_*``, ``pixel_values`` or ``image_embeds``, ``image_*``): the subgraph; read
                when this step's prompt holds the placeholders.
            cache (or ``past_key_values``), position_ids, use_cache, output_attentions, output_hidden_states,
                logits_to_keep, **kwargs: passed to the LM.
            shift_labels: targets already aligned with the logits (sequence parallelism), instead of labels.
            return_dict: False returns a tuple.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give exactly one of input_ids and inputs_embeds")
        self._set_backbone_modes()
        graph = GraphInputs.from_flat(
            text_input_ids, text_attention_mask, text_node_mask, text_adjacency, text_hops,
            pixel_values, image_embeds, image_node_mask, image_adjacency, image_hops,
        )  # fmt: skip
        continuing = cache is not None and cache.get_seq_length() > 0
        inputs_embeds, query_embeds, vision = self.build_inputs_embeds(input_ids, graph, inputs_embeds, continuing)
        if position_ids is None and attention_mask is not None:
            position_ids = position_ids_from_mask(attention_mask, inputs_embeds.shape[1])
        # None means "the config's": ours, as a composite's flags live on its top-level config
        if output_attentions is None:
            output_attentions = self.config.output_attentions
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        outputs = self.language_model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            logits_to_keep=logits_to_keep,
            return_dict=True,
            **kwargs,
        )
        loss = None
        if labels is not None or shift_labels is not None:
            loss = answer_token_loss(outputs.logits, labels, attention_mask, num_items_in_batch, shift_labels)
        output = Graph4MMOutput(
            loss=loss,
            logits=outputs.logits,
            cache=getattr(outputs, "cache", None),
            hidden_states=getattr(outputs, "hidden_states", None),
            attentions=getattr(outputs, "attentions", None),
            query_embeds=query_embeds,
            image_embeds=vision.image_embeds,
            image_outputs=vision.image_outputs,
        )
        return output if return_dict is not False else output.to_tuple()

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
        model.generation_config = language_model.generation_config
        return model


def _placeholder_count_message(counts: torch.Tensor, allowed: torch.Tensor, expected: int, image_token_id: int) -> str:
    sample = int((~allowed).nonzero()[0])
    return (
        f"sample {sample} of input_ids has {int(counts[sample])} <image> placeholder tokens "
        f"(id {image_token_id}); expected num_query_tokens = {expected} per sample "
        "(num_query_tokens_per_image x max_image_nodes). Build the processor from the model "
        "(Graph4MMProcessor.for_model(model, image_processor, tokenizer)) so the two agree"
    )


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
