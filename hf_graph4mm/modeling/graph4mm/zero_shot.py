"""Zero-shot classification by likelihood: how probable is each candidate label text after a prompt."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput

from .language_inputs import position_ids_from_mask


@dataclass
class Graph4MMCandidateScores(ModelOutput):
    """Zero-shot scores of candidate texts after each prompt.

    sum_log_likelihood / mean_log_likelihood: ``[batch, candidates]`` (sum over the candidate's
    tokens, and that sum divided by its token count).
    ranking: ``[batch, candidates]`` candidate indices, best first, by the chosen reduction.
    """

    sum_log_likelihood: torch.Tensor | None = None
    mean_log_likelihood: torch.Tensor | None = None
    ranking: torch.Tensor | None = None


def check_candidates(candidate_input_ids, candidate_attention_mask, reduction: str) -> None:
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    if candidate_input_ids.dim() != 2 or candidate_attention_mask.shape != candidate_input_ids.shape:
        raise ValueError(
            "candidate_input_ids and candidate_attention_mask must both be [candidates, tokens], got "
            f"{list(candidate_input_ids.shape)} and {list(candidate_attention_mask.shape)}"
        )
    empty = (candidate_attention_mask.sum(dim=1) == 0).nonzero().flatten()
    if empty.numel():
        raise ValueError(f"candidate {int(empty[0])} has no tokens")


def score_candidate_texts(
    language_model,
    prompt_embeds: torch.Tensor,
    prompt_mask: torch.Tensor,
    candidate_input_ids: torch.Tensor,
    candidate_attention_mask: torch.Tensor,
    reduction: str = "mean",
) -> Graph4MMCandidateScores:
    """Score every (prompt, candidate) pair in one LM pass.

    Args:
        language_model: the causal LM (must accept ``inputs_embeds`` and ``logits_to_keep``).
        prompt_embeds: ``[batch, length, dim]`` *left-padded* prompt embeddings (queries included).
        prompt_mask: ``[batch, length]``.
        candidate_input_ids, candidate_attention_mask: ``[candidates, tokens]``, right-padded.
    """
    batch, prompt_length, width = prompt_embeds.shape
    num_candidates, candidate_length = candidate_input_ids.shape
    pairs = batch * num_candidates
    candidate_embeds = language_model.get_input_embeddings()(candidate_input_ids).to(prompt_embeds.dtype)
    embeds = torch.cat(
        [
            prompt_embeds[:, None].expand(batch, num_candidates, prompt_length, width),
            candidate_embeds[None].expand(batch, num_candidates, candidate_length, width),
        ],
        dim=2,
    ).reshape(pairs, prompt_length + candidate_length, width)
    mask = torch.cat(
        [
            prompt_mask[:, None].expand(batch, num_candidates, prompt_length),
            candidate_attention_mask[None].expand(batch, num_candidates, candidate_length),
        ],
        dim=2,
    ).reshape(pairs, -1)
    # Only the last candidate_length + 1 positions matter: the last prompt token predicts the first
    # candidate token, and so on; the final position predicts nothing we score.
    logits = language_model(
        inputs_embeds=embeds,
        attention_mask=mask,
        position_ids=position_ids_from_mask(mask),
        logits_to_keep=candidate_length + 1,
    ).logits[:, :-1]
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    targets = candidate_input_ids[None].expand(batch, num_candidates, candidate_length).reshape(pairs, -1, 1)
    token_scores = log_probs.gather(-1, targets).squeeze(-1).view(batch, num_candidates, candidate_length)
    token_scores = token_scores * candidate_attention_mask[None].to(token_scores.dtype)
    total = token_scores.sum(dim=-1)
    mean = total / candidate_attention_mask.sum(dim=1)[None].to(total.dtype)
    ranking = torch.argsort(mean if reduction == "mean" else total, dim=-1, descending=True, stable=True)
    return Graph4MMCandidateScores(sum_log_likelihood=total, mean_log_likelihood=mean, ranking=ranking)
