"""Graph4MM: Hop-Diffused Attention + MM-QFormer + a frozen causal LM."""

__all__: list[str] = []
