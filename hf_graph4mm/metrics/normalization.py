"""Text normalisation applied to generated and reference texts before BLEU and CIDEr.

BLEU and CIDEr here split on whitespace only, so raw model output ("on the street.") would not
match "on the street". Caption evaluation (the COCO pipeline behind pycocoevalcap) first runs the
Stanford PTB tokenizer, which lowercases and drops punctuation tokens. That tokenizer needs
Java; ``normalize_text`` does the same job with one regular expression:

- lowercase (Unicode case folding);
- a token is a run of word characters, optionally with inner apostrophe parts ("dog's", "don't");
- everything else (punctuation, symbols) separates tokens and is dropped;
- tokens are joined by single spaces.

It is close to, not identical with, PTB tokenisation (PTB splits "don't" into "do n't" and keeps
symbols such as "$" or "%"), so absolute numbers can differ slightly from a Java-based pipeline.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+(?:'\w+)*")


def normalize_text(text: str) -> str:
    """``"A dog's bone (big)!"`` -> ``"a dog's bone big"``."""
    return " ".join(_TOKEN.findall(text.casefold()))
