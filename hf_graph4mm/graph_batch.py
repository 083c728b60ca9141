"""The graph part of a Graph4MM batch: its tensors named once, grouped once per modality.

``Graph4MMProcessor`` / ``Graph4MMCollator`` emit the :data:`GRAPH_INPUT_NAMES` tensors beside
``input_ids`` and ``attention_mask`` (docs/CONTRACTS.md gives their shapes). The model's ``forward``
takes them as flat keyword tensors, as transformers' ``Trainer``, pipelines and ``generate()`` pass
a batch, and groups them here once, at its top: :meth:`GraphInputs.from_flat` gives one
:class:`SubgraphInputs` per modality, and everything below ``forward`` takes those objects.

Only torch is imported here: processing and modeling both import this module, and a checkpoint's
exported remote code carries it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

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


def require(condition: bool, message: Callable[[], str]) -> None:
    """Raise ``ValueError(message())`` unless ``condition`` holds (a shape or dtype check).

    While traced by ``torch.compile`` / ``torch.export``, a shape comparison may be symbolic: it then
    becomes a guard the compiler records (``torch._check``).
    """
    if torch.compiler.is_compiling():
        torch._check(condition)
    elif not condition:
        raise ValueError(message())


def require_all(condition: torch.Tensor, message: Callable[[], str], summary: str) -> None:
    """Raise ``ValueError(message())`` unless every entry of the bool tensor ``condition`` holds.

    Inside a graph traced by ``torch.compile`` / ``torch.export`` the check becomes an assertion in the
    graph that fails at run time with ``summary`` (``message`` may read tensor values, which a traced
    graph cannot), so validation neither breaks nor splits the graph.
    """
    if torch.compiler.is_compiling():
        torch._assert_async(condition.all(), summary)
    elif not bool(condition.all()):
        raise ValueError(message())


@dataclass
class SubgraphInputs:
    """One modality's subgraph for a batch of ``B`` samples with ``N`` node slots each.

    Attributes:
        modality: "text" or "image" (errors name the field as ``{modality}_...``).
        node_mask: ``[B, N]`` bool, True = a real node (padded slots are False).
        adjacency: ``[B, N, N]`` bool, True where the row node may attend the column node; real
            nodes carry a self-loop, padded rows and columns are all False. So the rows of the
            adjacency with an edge are exactly ``node_mask``: backends take it instead of
            recomputing ``adjacency.any(-1)``.
        hops: ``[B, N]`` integer hop distance to the target node.
        input_ids, attention_mask: text nodes, ``[B, N, L]`` tokens of each node.
        pixel_values: image nodes, ``[B, N, 3, H, W]``; or
        image_embeds: image nodes, ``[B, N, vision_width]`` precomputed by the frozen vision encoder.
    """

    modality: str
    node_mask: torch.Tensor
    adjacency: torch.Tensor | None = None
    hops: torch.Tensor | None = None
    input_ids: torch.Tensor | None = None
    attention_mask: torch.Tensor | None = None
    pixel_values: torch.Tensor | None = None
    image_embeds: torch.Tensor | None = None

    @property
    def num_nodes(self) -> int:
        return self.node_mask.shape[1]

    def check(self, batch_size: int, max_nodes: int | None = None) -> None:
        """Shapes, dtypes and the padding rules of docs/CONTRACTS.md, and at most ``max_nodes`` node slots
        (the model's neighbour budget); errors name the field."""
        prefix = self.modality
        if prefix == "text":
            self._check_text(batch_size)
        else:
            self._check_images(batch_size)
        node_mask = self.node_mask
        require(
            node_mask.dtype == torch.bool and node_mask.dim() == 2 and node_mask.shape[0] == batch_size,
            lambda: f"{prefix}_node_mask must be a bool tensor [batch={batch_size}, nodes], "
            f"got {node_mask.dtype} {list(node_mask.shape)}",
        )
        nodes = node_mask.shape[1]
        if max_nodes is not None:
            require(
                nodes <= max_nodes,
                lambda: f"the batch has {nodes} {prefix} node slots; config.max_{prefix}_nodes is {max_nodes}",
            )
        adjacency = self.adjacency
        if adjacency is not None:
            require(
                adjacency.dtype == torch.bool and tuple(adjacency.shape) == (batch_size, nodes, nodes),
                lambda: f"{prefix}_adjacency must be a bool tensor [{batch_size}, {nodes}, {nodes}], "
                f"got {adjacency.dtype} {list(adjacency.shape)}",
            )
            padded_edges = adjacency & ~(node_mask[:, :, None] & node_mask[:, None, :])
            require_all(
                ~padded_edges,
                lambda: _first_edge_message(prefix, padded_edges, "touching a padded node slot"),
                f"{prefix}_adjacency has an edge touching a padded node slot",
            )
            self_loops = adjacency.diagonal(dim1=1, dim2=2)
            require_all(
                self_loops == node_mask,
                lambda: _missing_self_loop_message(prefix, self_loops, node_mask),
                f"{prefix}_adjacency lacks the self-loop of a real node (or has one on a padded slot)",
            )
        hops = self.hops
        if hops is not None:
            require(
                tuple(hops.shape) == (batch_size, nodes) and not hops.is_floating_point(),
                lambda: f"{prefix}_hops must be an integer tensor [{batch_size}, {nodes}], "
                f"got {hops.dtype} {list(hops.shape)}",
            )

    def _check_text(self, batch_size: int) -> None:
        input_ids, attention_mask, node_mask = self.input_ids, self.attention_mask, self.node_mask
        require(
            input_ids.dim() == 3 and input_ids.shape[0] == batch_size,
            lambda: f"text_input_ids must be [batch={batch_size}, text_nodes, tokens], got {list(input_ids.shape)}",
        )
        require(
            attention_mask is not None and attention_mask.shape == input_ids.shape,
            lambda: f"text_attention_mask must have text_input_ids' shape {list(input_ids.shape)}, got "
            f"{None if attention_mask is None else list(attention_mask.shape)}",
        )
        require(
            node_mask is not None and tuple(node_mask.shape) == tuple(input_ids.shape[:2]),
            lambda: f"text_node_mask must be [batch, text_nodes] = {list(input_ids.shape[:2])}, got "
            f"{None if node_mask is None else list(node_mask.shape)}",
        )

    def _check_images(self, batch_size: int) -> None:
        if self.pixel_values is not None and self.image_embeds is not None:
            raise ValueError("give pixel_values or image_embeds, not both")
        images, node_mask = self.images, self.node_mask
        require(
            images.dim() in (3, 5) and images.shape[0] == batch_size,
            lambda: f"pixel_values must be [batch={batch_size}, image_nodes, channels, height, width] (or "
            f"image_embeds [batch, image_nodes, vision_width]), got {list(images.shape)}",
        )
        require(
            node_mask is not None and tuple(node_mask.shape) == tuple(images.shape[:2]),
            lambda: f"image_node_mask must be [batch, image_nodes] = {list(images.shape[:2])}, got "
            f"{None if node_mask is None else list(node_mask.shape)}",
        )

    @property
    def images(self) -> torch.Tensor | None:
        """``pixel_values`` or ``image_embeds``, whichever the batch carries."""
        return self.pixel_values if self.pixel_values is not None else self.image_embeds


def _first_edge_message(prefix: str, bad: torch.Tensor, what: str) -> str:
    sample, row, col = (int(i) for i in bad.nonzero()[0])
    return f"{prefix}_adjacency of sample {sample} has an edge ({row}, {col}) {what}"


def _missing_self_loop_message(prefix: str, self_loops: torch.Tensor, node_mask: torch.Tensor) -> str:
    sample, node = (int(i) for i in (self_loops != node_mask).nonzero()[0])
    return (
        f"{prefix}_adjacency of sample {sample} has no self-loop on real node {node}: real nodes attend to "
        "themselves (the processor adds the self-loops)"
    )


@dataclass
class GraphInputs:
    """The graph part of a batch: the text and the image subgraph (either may be absent)."""

    text: SubgraphInputs | None = None
    image: SubgraphInputs | None = None

    @classmethod
    def from_flat(
        cls,
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
    ) -> GraphInputs:
        """Group the :data:`GRAPH_INPUT_NAMES` keyword tensors (shapes in docs/CONTRACTS.md)."""
        text = image = None
        if text_input_ids is not None:
            text = SubgraphInputs(
                "text", text_node_mask, text_adjacency, text_hops, text_input_ids, text_attention_mask
            )
        if pixel_values is not None or image_embeds is not None:
            image = SubgraphInputs(
                "image", image_node_mask, image_adjacency, image_hops, pixel_values=pixel_values,
                image_embeds=image_embeds,
            )  # fmt: skip
        return cls(text, image)

    @property
    def is_empty(self) -> bool:
        return self.text is None and self.image is None

    def check(self, batch_size: int, max_nodes: dict[str, int] | None = None) -> None:
        """Every subgraph's :meth:`SubgraphInputs.check`; ``max_nodes`` per modality ("text", "image")."""
        for subgraph in (self.text, self.image):
            if subgraph is not None:
                subgraph.check(batch_size, None if max_nodes is None else max_nodes.get(subgraph.modality))
