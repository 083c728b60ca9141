"""N-gram counting shared by BLEU and CIDEr."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def ngram_counts(tokens: Sequence[str], max_order: int) -> Counter:
    """Counts of every n-gram (a tuple of tokens) of ``tokens`` for n = 1..max_order."""
    counts: Counter = Counter()
    for order in range(1, max_order + 1):
        for start in range(len(tokens) - order + 1):
            counts[tuple(tokens[start : start + order])] += 1
    return counts
