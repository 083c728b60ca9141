"""Graph4MM's generation and zero-shot scoring: transformers' loop with the graph read on the prefill step.

``generate()`` returns the prompt followed by the new tokens, as BLIP-2 and LLaVA do, and runs greedy,
sampling, beam search, assisted decoding and cache continuation through transformers' own loop;
:meth:`score_candidates` ranks label texts after each prompt (zero-shot classification).
"""

from __future__ import annotations

import torch
from transformers import GenerationMixin

from ...graph_batch import GRAPH_INPUT_NAMES, GraphInputs
from .language_inputs import is_right_padded, left_align
from .zero_shot import Graph4MMCandidateScores, check_candidates, score_candidate_texts


class Graph4MMGenerationMixin(GenerationMixin):
    """Mixed into :class:`~.modeling_graph4mm.Graph4MMForConditionalGeneration`; uses its
    ``build_inputs_embeds``, ``language_model`` and backbone-mode bookkeeping."""

    def prepare_inputs_for_generation(
        self,
        input_ids: torch.Tensor,
        next_sequence_length: int | None = None,
        cache=None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        is_first_iteration: bool | None = False,
        **kwargs,
    ):
        """transformers' preparation; the graph inputs go with the prefill step only (and every step
        without a cache), where the prompt's placeholders are."""
        graph = {name: kwargs.pop(name) for name in GRAPH_INPUT_NAMES if name in kwargs}
        model_inputs = super().prepare_inputs_for_generation(
            input_ids,
            next_sequence_length=next_sequence_length,
            cache=cache,
            attention_mask=attention_mask,
            inputs_embeds=inputs_embeds,
            is_first_iteration=is_first_iteration,
            **kwargs,
        )
        if is_first_iteration or not kwargs.get("use_cache", True):
            model_inputs.update(graph)
        return model_inputs

    @torch.no_grad()
    def generate(self, input_ids=None, attention_mask=None, inputs_embeds=None, **kwargs):
        """``GenerationMixin.generate`` with the graph inputs beside the prompt; returns the prompt followed by
        the new tokens, as BLIP-2 and LLaVA do (slice ``[:, input_ids.shape[1]:]`` for the answer).

        Right-padded prompts (as the training collator makes them) are moved to left padding first, since
        generation continues after each row's last position; the returned rows are then left-padded. The
        ``<image>`` placeholder is never generated (added to ``suppress_tokens``): it marks where the graph's
        queries go, and a generated one would be taken for a misplaced placeholder later (assisted decoding,
        continuing from the returned sequences).
        """
        image_token_id = self.config.image_token_id
        if image_token_id is not None and image_token_id < self.get_output_embeddings().out_features:
            config = kwargs.get("generation_config") or self.generation_config
            suppressed = list(kwargs.get("suppress_tokens") or config.suppress_tokens or [])
            kwargs["suppress_tokens"] = suppressed if image_token_id in suppressed else [*suppressed, image_token_id]
        if attention_mask is not None and not torch.compiler.is_compiling() and is_right_padded(attention_mask):
            if inputs_embeds is not None:
                inputs_embeds, _ = left_align(inputs_embeds, attention_mask)
            if input_ids is not None:
                input_ids, _ = left_align(input_ids, attention_mask)
            _, attention_mask = left_align(attention_mask, attention_mask)
        if inputs_embeds is not None:
            kwargs["inputs_embeds"] = inputs_embeds
        return super().generate(input_ids, attention_mask=attention_mask, **kwargs)

    def _aligned_prompt(self, input_ids, attention_mask, graph_inputs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs_embeds, _, _ = self.build_inputs_embeds(input_ids, GraphInputs.from_flat(**graph_inputs))
        return left_align(inputs_embeds, attention_mask)

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
        self._set_backbone_modes()
        prompt_embeds, prompt_mask = self._aligned_prompt(input_ids, attention_mask, graph_inputs)
        return score_candidate_texts(
            self.language_model,
            prompt_embeds,
            prompt_mask,
            candidate_input_ids,
            candidate_attention_mask,
            reduction,
        )
