"""GsiT: graph-structured interlaced-masked multimodal transformer, and its MulT baseline."""

__all__: list[str] = []
