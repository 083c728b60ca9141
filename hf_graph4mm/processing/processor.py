"""The Graph4MM processor: (graph, target node, prompt, answer) -> model inputs.

For each example it extracts the target's neighbourhood (:func:`extract_subgraph`),
tokenises the LM prompt (instruction + the subgraph's texts, nearest hops first, then
``num_query_tokens`` image placeholders, then the answer), tokenises each text node,
runs the image processor on each image node, and returns the two adjacencies and hop
vectors. The layout of the result is fixed in ``docs/CONTRACTS.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from transformers import BatchFeature, ProcessorMixin

from ..graph_batch import GRAPH_INPUT_NAMES
from .collator import pad_examples
from .graph import MultimodalGraph, image_cache_key, load_image
from .subgraph import extract_subgraph

IGNORE_INDEX = -100
# hook(processor, save_directory), run after save_pretrained. Filled by the layer above
# (hf_graph4mm.hub); processing never imports it. Empty in an exported copy of this file.
PROCESSOR_SAVE_HOOKS: list = []


class Graph4MMProcessor(ProcessorMixin):
    """Turns multimodal graphs into Graph4MM batches.

    Args:
        image_processor: any transformers image processor (a CLIP one for CLIP encoders).
        tokenizer: the language model's tokenizer; it must know ``image_token``.
        num_query_tokens: placeholders per sample; must equal the model config's
            ``num_query_tokens`` (= tokens per image x max image nodes).
        num_hops: BFS depth (tau) of the neighbourhood.
        max_text_nodes / max_image_nodes: caps per modality (nearest hops kept first).
        max_length: the LM sequence budget (context + placeholders + answer).
        max_target_length: tokens kept of the answer (the paper's max output length).
        max_node_tokens: tokens kept per text node for the text-node encoder.
        include_neighbor_text: put the subgraph's texts into the LM prompt (MMGL-style
            context); the target's own text always goes in.
        image_token: the placeholder token.
    """

    def __init__(
        self,
        image_processor=None,
        tokenizer=None,
        num_query_tokens: int = 20,
        num_hops: int = 2,
        max_text_nodes: int = 12,
        max_image_nodes: int = 5,
        max_length: int = 1024,
        max_target_length: int = 128,
        max_node_tokens: int = 64,
        include_neighbor_text: bool = True,
        image_token: str = "<image>",
        **kwargs,
    ):
        self.num_query_tokens = int(num_query_tokens)
        self.num_hops = int(num_hops)
        self.max_text_nodes = int(max_text_nodes)
        self.max_image_nodes = int(max_image_nodes)
        self.max_length = int(max_length)
        self.max_target_length = int(max_target_length)
        self.max_node_tokens = int(max_node_tokens)
        self.include_neighbor_text = bool(include_neighbor_text)
        self.image_token = image_token
        super().__init__(image_processor, tokenizer, **kwargs)
        unknown = self.tokenizer.convert_tokens_to_ids(image_token)
        if unknown is None or unknown == self.tokenizer.unk_token_id:
            raise ValueError(
                f"the tokenizer has no {image_token!r} token; add it with "
                f"tokenizer.add_special_tokens({{'additional_special_tokens': [{image_token!r}]}})"
            )
        if self.tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token first")
        budget = self.max_length - self.num_query_tokens - self.max_target_length - 2
        if budget < 1:
            raise ValueError(
                f"max_length={self.max_length} leaves no room for context after {self.num_query_tokens} "
                f"placeholders and an answer of up to {self.max_target_length} tokens"
            )
        self._warned_truncation = False

    @property
    def image_token_id(self) -> int:
        return int(self.tokenizer.convert_tokens_to_ids(self.image_token))

    # ------------------------------------------------------------------ agreeing with a model
    @classmethod
    def for_model(cls, model_or_config, image_processor, tokenizer, **kwargs) -> Graph4MMProcessor:
        """A processor whose ``num_query_tokens``, ``max_text_nodes`` and ``max_image_nodes`` are the
        model config's (``kwargs`` set the rest: ``num_hops``, ``max_length``...). Passing one of those
        three with another value than the config's is an error."""
        config = getattr(model_or_config, "config", model_or_config)
        for name in ("num_query_tokens", "max_text_nodes", "max_image_nodes"):
            value = getattr(config, name)
            if name in kwargs and kwargs[name] != value:
                raise ValueError(f"{name}={kwargs[name]} disagrees with the model config's {name} = {value}")
            kwargs[name] = value
        processor = cls(image_processor=image_processor, tokenizer=tokenizer, **kwargs)
        processor.check_model(config)
        return processor

    def check_model(self, model_or_config) -> None:
        """Raise a ``ValueError`` saying what differs when this processor's batches do not fit the model:
        a different ``num_query_tokens`` (placeholders per prompt) or ``<image>`` token id."""
        config = getattr(model_or_config, "config", model_or_config)
        expected = getattr(config, "num_query_tokens", None)
        if expected is not None and self.num_query_tokens != expected:
            raise ValueError(
                f"the processor writes num_query_tokens = {self.num_query_tokens} <image> placeholders but the "
                f"model expects {expected} (num_query_tokens_per_image {config.num_query_tokens_per_image} x "
                f"max_image_nodes {config.max_image_nodes}); build it with Graph4MMProcessor.for_model(model, ...)"
            )
        token_id = getattr(config, "image_token_id", None)
        if token_id is not None and token_id != self.image_token_id:
            raise ValueError(
                f"the tokenizer's {self.image_token!r} token has id {self.image_token_id} but the model config's "
                f"image_token_id is {token_id}: use the tokenizer the model was built with"
            )

    # ------------------------------------------------------------------ one example
    def _tokens(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _warn_truncation(self, what: str) -> None:
        if not self._warned_truncation:
            self._warned_truncation = True
            warnings.warn(
                f"Graph4MMProcessor truncated {what} to fit max_length={self.max_length} "
                "(farthest hops first; the answer is never cut). This warning is shown once.",
                stacklevel=3,
            )

    def _context_ids(self, pieces: list[list[int]], budget: int) -> list[int]:
        """Concatenate pieces (nearest hop first), dropping tokens from the far end inward."""
        separator = self._tokens("\n")
        total = sum(len(piece) for piece in pieces) + len(separator) * max(len(pieces) - 1, 0)
        if total > budget:
            self._warn_truncation("the subgraph context")
        ids: list[int] = []
        for position, piece in enumerate(pieces):
            room = budget - len(ids)
            if position > 0:
                if room <= len(separator):
                    break
                ids.extend(separator)
                room -= len(separator)
            if room <= 0:
                break
            ids.extend(piece[:room])
        return ids

    def process_example(
        self,
        graph: MultimodalGraph | dict,
        target: int,
        prompt: str | None = None,
        target_text: str | None = None,
        load_images: bool = True,
    ) -> dict[str, Any]:
        """One example, unpadded: lists and numpy arrays (see ``docs/CONTRACTS.md`` for the keys).

        With ``load_images=False`` the image nodes are named by ``image_keys`` (see
        :func:`image_cache_key`) instead of decoded into ``pixel_values``: for a collator that
        looks their encoder outputs up in a cache.
        """
        if isinstance(graph, dict):
            graph = MultimodalGraph.from_dict(graph)
        if target is None:
            raise ValueError(f"graph {graph.name!r}: no target node given")
        if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, np.integer)):
            raise ValueError(
                f"graph {graph.name!r}: the target node must be an integer index, got "
                f"{type(target).__name__} {target!r}"
            )
        target = int(target)
        if not 0 <= target < graph.num_nodes:
            raise ValueError(f"graph {graph.name!r} has {graph.num_nodes} nodes, no target node {target}")
        subgraph = extract_subgraph(graph, target, self.num_hops, self.max_text_nodes, self.max_image_nodes)
        # each text node is tokenised once: for the LM context and for the text-node encoder
        node_tokens = {int(node): self._tokens(graph.texts[node]) for node in subgraph.text.nodes}

        # LM sequence: <s> prompt context <image>*Q answer </s>
        answer = []
        if target_text is not None:
            answer = self._tokens(target_text)[: self.max_target_length] + [self.tokenizer.eos_token_id]
        prompt_ids = self._tokens(prompt) if prompt else []
        budget = self.max_length - 1 - self.num_query_tokens - len(answer)
        if len(prompt_ids) > budget:
            self._warn_truncation("the prompt")
            prompt_ids = prompt_ids[:budget]
        if self.include_neighbor_text:
            text_nodes = subgraph.text.nodes
        else:  # the target's own text only (none for an image-only target)
            text_nodes = subgraph.text.nodes[subgraph.text.nodes == target]
        pieces = [node_tokens[int(node)] for node in text_nodes]
        separator = self._tokens("\n") if prompt_ids and pieces else []
        context = self._context_ids(pieces, budget - len(prompt_ids) - len(separator))
        input_ids = (
            [self.tokenizer.bos_token_id]
            + prompt_ids
            + separator
            + context
            + [self.image_token_id] * self.num_query_tokens
        )
        labels = [IGNORE_INDEX] * len(input_ids) + answer
        input_ids = input_ids + answer

        # text nodes, for the model's text-node encoder
        text_input_ids = [
            tokens[: self.max_node_tokens] or [self.tokenizer.eos_token_id] for tokens in node_tokens.values()
        ]
        if any(len(tokens) > self.max_node_tokens for tokens in node_tokens.values()):
            self._warn_truncation(f"text nodes longer than max_node_tokens={self.max_node_tokens}")

        # image nodes
        pixel_values = None
        image_keys = None
        if not load_images:
            image_keys = [image_cache_key(graph.images[node]) for node in subgraph.image.nodes]
        elif subgraph.image.num_nodes:
            images = []
            for node in subgraph.image.nodes:
                try:
                    images.append(load_image(graph.images[node]))
                except Exception as error:  # name the node: a bare PIL error says nothing useful
                    raise ValueError(
                        f"graph {graph.name!r}: cannot read the image of node {int(node)}: {error}"
                    ) from error
            pixel_values = np.asarray(
                self.image_processor(images=images, return_tensors="np")["pixel_values"]
            )

        example = {
            "input_ids": input_ids,
            "text_input_ids": text_input_ids,
            "text_adjacency": subgraph.text.adjacency,
            "text_hops": subgraph.text.hops,
            "pixel_values": pixel_values,
            "image_adjacency": subgraph.image.adjacency,
            "image_hops": subgraph.image.hops,
        }
        if image_keys is not None:
            example["image_keys"] = image_keys
        if target_text is not None:
            example["labels"] = labels
        return example

    # ------------------------------------------------------------------ batches
    def __call__(
        self,
        graphs: MultimodalGraph | dict | Sequence[MultimodalGraph | dict] | None = None,
        targets: int | Sequence[int] | None = None,
        prompts: str | Sequence[str | None] | None = None,
        target_texts: str | Sequence[str] | None = None,
        padding_side: str = "right",
        return_tensors: str = "pt",
        **kwargs,
    ) -> BatchFeature:
        """Process one example or a batch and pad it.

        Args:
            graphs: a graph (or ``MultimodalGraph.to_dict()`` dict), or a list of them.
            targets: the target node index, or one per graph.
            prompts: an instruction placed before the context (one, or one per graph).
            target_texts: the answer(s) to train on; omit at inference.
            padding_side: "right" for training, "left" for batched generation.
        """
        if graphs is None:
            raise ValueError("Graph4MMProcessor needs a graph (or a list of graphs)")
        single = isinstance(graphs, (MultimodalGraph, dict))
        graphs = [graphs] if single else list(graphs)
        if targets is None:
            raise ValueError("Graph4MMProcessor needs the target node of each graph (targets=...)")
        targets = [targets] if isinstance(targets, (int, np.integer)) else list(targets)
        prompts = [prompts] * len(graphs) if prompts is None or isinstance(prompts, str) else list(prompts)
        if target_texts is not None and isinstance(target_texts, str):
            target_texts = [target_texts]
        for name, values in (("targets", targets), ("prompts", prompts), ("target_texts", target_texts)):
            if values is not None and len(values) != len(graphs):
                raise ValueError(f"{len(graphs)} graphs but {len(values)} {name}")
        examples = [
            self.process_example(graph, target, prompt, None if target_texts is None else target_texts[index])
            for index, (graph, target, prompt) in enumerate(zip(graphs, targets, prompts))
        ]
        return pad_examples(
            examples,
            pad_token_id=self.tokenizer.pad_token_id,
            image_size=self._image_size(),
            padding_side=padding_side,
            return_tensors=return_tensors,
        )

    def _image_size(self) -> tuple[int, int]:
        """``(height, width)`` of the processed images (from ``crop_size``, else ``size``)."""
        for attribute in ("crop_size", "size"):
            size = getattr(self.image_processor, attribute, None)
            if size is None:
                continue
            size = (
                dict(size)
                if isinstance(size, dict)
                else {k: getattr(size, k, None) for k in ("height", "width", "shortest_edge")}
            )
            if size.get("height") and size.get("width"):
                return int(size["height"]), int(size["width"])
            if size.get("shortest_edge"):
                return int(size["shortest_edge"]), int(size["shortest_edge"])
        raise ValueError("cannot tell the processed image size from the image processor's crop_size / size")

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Save as transformers does, then run :data:`PROCESSOR_SAVE_HOOKS` (``hf_graph4mm.hub`` adds
        this processor's code there, so that ``AutoProcessor.from_pretrained(folder,
        trust_remote_code=True)`` works without the package)."""
        result = super().save_pretrained(save_directory, *args, **kwargs)
        for hook in PROCESSOR_SAVE_HOOKS:
            hook(self, save_directory)
        return result

    def batch_decode(self, *args, **kwargs):
        return self.tokenizer.batch_decode(*args, **kwargs)

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)

    @property
    def model_input_names(self) -> list[str]:
        return ["input_ids", "attention_mask", *GRAPH_INPUT_NAMES]
