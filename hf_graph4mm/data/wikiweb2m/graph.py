"""One WikiWeb2M page as a multimodal graph, and its section-summarisation examples.

Nodes, in this order: the page (title + description), its sections (title + the sentences
after the first one, which is the summarisation target), then its images (the downloaded
file if present, the caption as text). Undirected edges:

- page - section, for top-level sections (negative ``section_parent_index``);
- parent - child, from ``section_parent_index``;
- consecutive siblings (sections sharing a parent, in page order);
- section - image, for each image of the section.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields

from ...processing.graph import MultimodalGraph
from .pages import Page, Section, image_file_name

logger = logging.getLogger(__name__)


@dataclass
class ImageStats:
    """How the images a page references turned into nodes (reported once per build)."""

    referenced: int = 0  # image slots with a URL
    with_file: int = 0  # file found under the images folder
    caption_only: int = 0  # file missing, kept as a text node holding the caption
    dropped: int = 0  # file missing and no caption: nothing left to make a node of

    def merge(self, other: ImageStats) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    def summary(self) -> str:
        return (
            f"{self.referenced} images referenced: {self.with_file} found, "
            f"{self.caption_only} missing (kept as caption-only nodes), "
            f"{self.dropped} missing without a caption (dropped)"
        )


def _join(*parts: str, separator: str) -> str:
    return separator.join(part.strip() for part in parts if part and part.strip())


def section_text(section: Section) -> str:
    """Title and the sentences after the first; the first sentence never appears (it is the answer)."""
    rest = section.rest_sentence
    if section.first_sentence.strip():
        rest = rest.replace(section.first_sentence.strip(), "")  # a repeated sentence would leak it
    return _join(section.title, " ".join(rest.split()), separator=": ")


def _parent_positions(page: Page) -> list[int | None]:
    """Position of each section's parent (None for top-level), checked to point backwards."""
    position_of = {section.index: section.position for section in page.sections}
    parents: list[int | None] = []
    for section in page.sections:
        if section.parent_index < 0:
            parents.append(None)
            continue
        parent = position_of.get(section.parent_index)
        if parent is None or parent >= section.position:
            raise ValueError(
                f"{page.source}: section {section.position} ({section.title!r}) has section_parent_index "
                f"{section.parent_index}, which is not an earlier section of the page"
            )
        parents.append(parent)
    return parents


def page_graph_dict(page: Page, images_dir: str | os.PathLike | None, stats: ImageStats) -> dict:
    """The page's graph in :meth:`MultimodalGraph.to_dict` layout (what a row's ``graph`` holds),
    built directly: a release build makes millions of these. Node ``1 + section.position`` is
    that section's node."""
    texts: list[str | None] = [_join(page.title, page.description, separator=". ")]
    images: list[str | None] = [None]
    node_ids = ["page"]
    sources: list[int] = []
    targets: list[int] = []

    parents = _parent_positions(page)
    last_child_of: dict[int | None, int] = {}  # parent position -> last section seen under it
    for section, parent in zip(page.sections, parents):
        node = len(texts)
        texts.append(section_text(section))
        images.append(None)
        node_ids.append(f"section/{section.position}")
        sources.append(0 if parent is None else 1 + parent)
        targets.append(node)
        if parent in last_child_of:
            sources.append(1 + last_child_of[parent])
            targets.append(node)
        last_child_of[parent] = section.position

    for section in page.sections:
        for image in section.images:
            stats.referenced += 1
            path = None
            if images_dir is not None:
                name = image_file_name(page.number, section.position, image.slot, image.url, image.mime_type)
                candidate = os.path.join(images_dir, name)
                path = candidate if os.path.isfile(candidate) else None
            caption = " ".join(image.caption.split()) or None
            if path is None and caption is None:
                stats.dropped += 1
                continue
            if path is None:
                stats.caption_only += 1
            else:
                stats.with_file += 1
            sources.append(1 + section.position)
            targets.append(len(texts))
            texts.append(caption)
            images.append(path)
            node_ids.append(f"image/{section.position}/{image.slot}")

    return {
        "name": f"wikiweb2m-page-{page.number}",
        "texts": texts,
        "images": images,
        "edge_source": sources,
        "edge_target": targets,
        "directed": False,
        "node_ids": node_ids,
        "labels": None,
    }


def page_graph(page: Page, images_dir: str | os.PathLike | None, stats: ImageStats) -> MultimodalGraph:
    """The page's graph as a checked :class:`MultimodalGraph`."""
    return MultimodalGraph.from_dict(page_graph_dict(page, images_dir, stats))


def summarization_targets(page: Page) -> list[Section]:
    """The page's section-summarisation samples: sections flagged by the release and with a
    non-empty first sentence."""
    return [s for s in page.sections if s.is_summarization_sample and s.first_sentence.strip()]


def summarization_row(page: Page, section: Section) -> dict:
    """One example's columns other than ``graph`` (the page's graph, shared by its examples)."""
    key = f"{page.number}_{section.position}"
    return {
        "id": key,
        "page_id": page.number,
        "section_id": section.position,
        "page_title": page.title,
        "page_url": page.url,
        "section_title": section.title,
        "target_node": 1 + section.position,
        "target_text": " ".join(section.first_sentence.split()),
    }
