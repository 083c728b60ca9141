"""The names of the graph inputs a Graph4MM model takes beside ``input_ids`` / ``attention_mask``.

One list for the processor (what it may emit), the collator and the model (what
``forward``/``generate`` route to the graph encoder). ``image_embeds`` replaces
``pixel_values`` when a frozen vision encoder's outputs were cached (training/vision_cache.py).
"""

GRAPH_INPUT_NAMES = (
    "text_input_ids",
    "text_attention_mask",
    "text_node_mask",
    "text_adjacency",
    "text_hops",
    "pixel_values",
    "image_embeds",
    "image_node_mask",
    "image_adjacency",
    "image_hops",
)
