"""Attention with dropout on its probabilities, computed in cache-sized chunks (CPU).

    S = scale * q k^T (padded keys masked),  P = softmax(S),  D = P * keep / keep_probability,  out = D v

SDPA on CPU has no fused kernel with dropout; left to autograd, the composition writes and
keeps whole ``[batch, heads, T_q, T_k]`` float tensors (scores, P, the mask, D): at MOSI's lengths
that is gigabytes per step, and every pass over them runs at memory speed. Here the (batch x head)
pairs are processed a few at
a time so each chunk's scores stay in cache, and only the boolean ``keep`` and one log-sum-exp per
query row are kept; the backward recomputes P chunk by chunk, as flash attention does:

    dv = D^T g;   dP = (g v^T) * keep / keep_probability
    dS = P * (dP - delta),  delta = rowsum(g * out)  (= rowsum(dP * P));   dq = scale dS k;   dk = scale dS^T q
"""

from __future__ import annotations

import torch

from ..dropout import dropout_keep

# scores per chunk: 2^20 float32 entries (4 MB), about what a core's share of cache holds
CHUNK_ELEMENTS = 1 << 20


def _chunks(pairs: int, query_length: int, key_length: int):
    step = max(1, CHUNK_ELEMENTS // max(1, query_length * key_length))
    return [slice(start, min(start + step, pairs)) for start in range(0, pairs, step)]


def _probs(query, key, bias, log_sum_exp, scaling):
    """``P`` of one chunk: ``exp(scale q k^T + bias - lse)``: ``[pairs, T_q, T_k]``."""
    if bias is None:
        scores = torch.bmm(query, key.transpose(1, 2)).mul_(scaling)
    else:
        scores = torch.baddbmm(bias, query, key.transpose(1, 2), alpha=scaling)
    if log_sum_exp is None:
        log_sum_exp = torch.logsumexp(scores, dim=-1, keepdim=True)
        # a row with no real key (every score -inf) attends to nothing: exp(-inf - inf) = 0
        log_sum_exp = log_sum_exp.masked_fill(log_sum_exp == float("-inf"), float("inf"))
    return scores.sub_(log_sum_exp).exp_(), log_sum_exp


class _DroppedAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, query, key, value, bias, keep, keep_scale, scaling):
        pairs, query_length, _ = query.shape
        output = query.new_empty(pairs, query_length, value.shape[-1])
        log_sum_exp = query.new_empty(pairs, query_length, 1)
        for chunk in _chunks(pairs, query_length, key.shape[1]):
            probs, log_sum_exp[chunk] = _probs(query[chunk], key[chunk], _at(bias, chunk), None, scaling)
            torch.bmm(probs.mul_(keep[chunk]).mul_(keep_scale), value[chunk], out=output[chunk])
        ctx.save_for_backward(query, key, value, bias, keep, log_sum_exp, output)
        ctx.keep_scale, ctx.scaling = keep_scale, scaling
        return output

    @staticmethod
    def backward(ctx, grad_output):
        query, key, value, bias, keep, log_sum_exp, output = ctx.saved_tensors
        grad_output = grad_output.contiguous()
        delta = (grad_output * output).sum(dim=-1, keepdim=True)  # [pairs, T_q, 1]
        grad_query, grad_key, grad_value = torch.empty_like(query), torch.empty_like(key), torch.empty_like(value)
        for chunk in _chunks(*query.shape[:2], key.shape[1]):
            probs, _ = _probs(query[chunk], key[chunk], _at(bias, chunk), log_sum_exp[chunk], ctx.scaling)
            dropped = (probs * keep[chunk]).mul_(ctx.keep_scale)
            torch.bmm(dropped.transpose(1, 2), grad_output[chunk], out=grad_value[chunk])
            del dropped
            grad_scores = torch.bmm(grad_output[chunk], value[chunk].transpose(1, 2))
            grad_scores.mul_(keep[chunk]).mul_(ctx.keep_scale).sub_(delta[chunk]).mul_(probs).mul_(ctx.scaling)
            torch.bmm(grad_scores, key[chunk], out=grad_query[chunk])
            torch.bmm(grad_scores.transpose(1, 2), query[chunk], out=grad_key[chunk])
        return grad_query, grad_key, grad_value, None, None, None, None


def _at(bias, chunk):
    return None if bias is None else bias[chunk]


def dropped_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    key_is_real: torch.Tensor | None,
    dropout_p: float,
    scaling: float,
) -> torch.Tensor:
    """``dropout(softmax(scaling q k^T over real keys)) @ value``, training-mode dropout ``dropout_p``.

    The dropout draw is one :func:`~hf_graph4mm.kernels.dropout.dropout_keep` of shape ``[batch * heads, T_q, T_k]``,
    taken first (so a test can re-draw it from the same seed).

    Args:
        query: ``[batch, heads, T_q, d]``; key: ``[batch, heads, T_k, d]``; value: ``[batch, heads, T_k, d_v]``.
        key_is_real: ``[batch, T_k]`` bool, or None (all real).

    Returns:
        ``[batch, heads, T_q, d_v]``; samples with no real key get zeros.
    """
    batch, heads, query_length, _ = query.shape
    key_length = key.shape[-2]
    keep, keep_probability = dropout_keep((batch * heads, query_length, key_length), dropout_p, query.device)
    if keep_probability == 0.0:
        return query.new_zeros(query.shape[:-1] + value.shape[-1:])
    bias = None
    if key_is_real is not None:
        bias = torch.zeros(batch, key_length, dtype=query.dtype, device=query.device)
        bias = bias.masked_fill_(~key_is_real, float("-inf"))[:, None, None, :]
        bias = bias.expand(batch, heads, 1, key_length).reshape(batch * heads, 1, key_length)
    flat = [t.reshape(batch * heads, t.shape[-2], t.shape[-1]) for t in (query, key, value)]
    output = _DroppedAttention.apply(*flat, bias, keep, 1.0 / keep_probability, scaling)
    return output.view(batch, heads, query_length, value.shape[-1])
