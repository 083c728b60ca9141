"""WikiWeb2M pages as released: GZIP TFRecord shards of ``tf.train.SequenceExample``, one per page.

Pages are numbered by their order across the shards (sorted by file name), as the published
pipeline numbers them when it names downloaded images ``{page}_{section}_{image}.{ext}``;
sections and images by their position in the page's sequence features.
"""

from __future__ import annotations

import glob
import os
import posixpath
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

from .tfrecord import BYTES, INT64, decode_sequence_example, read_tfrecord

SHARD_PATTERN = "wikiweb2m-*.tfrecord*"

CONTEXT_BYTES = ("split", "page_title", "page_url", "clean_page_description", "raw_page_description")
CONTEXT_INT64 = (
    "is_page_description_sample",
    "page_contains_images",
    "page_content_sections_without_table_list",
)
SEQUENCE_INT64 = (
    "is_section_summarization_sample",
    "section_index",
    "section_depth",
    "section_heading_level",
    "section_subsection_index",
    "section_parent_index",
    "is_image_caption_sample",
    "section_image_width",
    "section_image_height",
    "section_image_in_wit",
    "section_contains_table_or_list",
    "section_contains_images",
)
SEQUENCE_BYTES = (
    "section_title",
    "section_text",
    "section_clean_1st_sentence",
    "section_raw_1st_sentence",
    "section_rest_sentence",
    "section_image_url",
    "section_image_mime_type",
    "section_image_captions",
    "section_image_alt_text",
    "section_image_raw_attr_desc",
    "section_image_clean_attr_desc",
    "section_image_raw_ref_desc",
    "section_image_clean_ref_desc",
)
# name -> TFRecord feature kind, for writing files in the release's exact types.
FEATURE_KINDS = {
    **dict.fromkeys(CONTEXT_BYTES + SEQUENCE_BYTES, BYTES),
    **dict.fromkeys(CONTEXT_INT64 + SEQUENCE_INT64, INT64),
}
# What a page's graph and examples are made of: only these have their values decoded.
DECODED_FEATURES = frozenset(
    {
        "split",
        "page_title",
        "page_url",
        "clean_page_description",
        "section_title",
        "section_index",
        "section_parent_index",
        "section_clean_1st_sentence",
        "section_rest_sentence",
        "is_section_summarization_sample",
        "section_image_url",
        "section_image_captions",
        "section_image_mime_type",
    }
)
# The release's split names -> datasets' split names.
SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}

_MIME_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/svg+xml": "svg"}


@dataclass
class SectionImage:
    """One image slot of a section (``slot`` = position in the section's URL list)."""

    slot: int
    url: str
    caption: str
    mime_type: str = ""


@dataclass
class Section:
    position: int  # 0-based position in the page's sequence: the `{section}` of image file names
    index: int  # the release's section_index (what section_parent_index refers to)
    parent_index: int  # -1 (or any negative) for a top-level section
    title: str
    first_sentence: str
    rest_sentence: str
    is_summarization_sample: bool
    images: list[SectionImage] = field(default_factory=list)


@dataclass
class Page:
    number: int  # order across all shards: the `{page}` of image file names
    split: str  # datasets' name: train / validation / test
    title: str
    url: str
    description: str
    sections: list[Section]
    source: str  # "file, record n" for error messages


def find_shards(raw_dir: str | os.PathLike, pattern: str = SHARD_PATTERN) -> list[str]:
    """The release's shard files under ``raw_dir``, sorted by name (which fixes page numbering)."""
    if not os.path.isdir(raw_dir):
        raise ValueError(f"WikiWeb2M raw directory {str(raw_dir)!r} does not exist")
    paths = sorted(glob.glob(os.path.join(glob.escape(str(raw_dir)), pattern)))
    if not paths:
        raise ValueError(f"no WikiWeb2M shards matching {pattern!r} in {str(raw_dir)!r}")
    return paths


def image_file_name(page: int, section: int, slot: int, url: str, mime_type: str = "") -> str:
    """``{page}_{section}_{image}.{ext}``; the extension is the URL's (case kept), else the MIME type's."""
    extension = posixpath.splitext(urllib.parse.urlsplit(url).path)[1][1:]
    if not extension:
        extension = _MIME_EXTENSIONS.get(mime_type.lower(), "jpg")
    return f"{page}_{section}_{slot}.{extension}"


def _text(value: bytes) -> str:
    # One stray byte in a 2M-page release should not abort a build; replace it instead.
    return value.decode("utf-8", errors="replace")


def _one(values: list, default):
    return values[0] if values else default


def parse_page(data: bytes, number: int, source: str) -> Page:
    """Decode one record into a :class:`Page`.

    Raises:
        ValueError: naming ``source`` (file and record) on an undecodable record, a missing or
            unknown split, a release feature of the wrong type, or sequence features whose
            lengths disagree.
    """
    context, lists = _parse_record(data, source)
    split = _release_split(context, source)
    title = _text(_one(context.get("page_title", []), b""))
    num_sections = len(lists.get("section_title", []))

    def step(name: str, position: int) -> list:
        steps = lists.get(name)
        return steps[position] if steps else []

    sections = []
    for position in range(num_sections):
        urls = [_text(u) for u in step("section_image_url", position)]
        captions = [_text(c) for c in step("section_image_captions", position)]
        mimes = [_text(m) for m in step("section_image_mime_type", position)]
        images = [
            SectionImage(
                slot,
                url,
                captions[slot] if slot < len(captions) else "",
                mimes[slot] if slot < len(mimes) else "",
            )
            for slot, url in enumerate(urls)
            if url  # an empty URL means no image in that slot
        ]
        sections.append(
            Section(
                position=position,
                index=int(_one(step("section_index", position), position)),
                parent_index=int(_one(step("section_parent_index", position), -1)),
                title=_text(_one(step("section_title", position), b"")),
                first_sentence=_text(_one(step("section_clean_1st_sentence", position), b"")),
                rest_sentence=_text(_one(step("section_rest_sentence", position), b"")),
                is_summarization_sample=bool(_one(step("is_section_summarization_sample", position), 0)),
                images=images,
            )
        )
    return Page(
        number=number,
        split=SPLIT_NAMES[split],
        title=title,
        url=_text(_one(context.get("page_url", []), b"")),
        description=_text(_one(context.get("clean_page_description", []), b"")),
        sections=sections,
        source=source,
    )


def iter_pages(path: str, first_number: int = 0, keep: frozenset[int] | None = None) -> Iterator[Page]:
    """Stream the pages of one shard, numbering them from ``first_number``.

    ``keep``: if given, only pages whose number is in it are decoded (the others are skipped
    after the CRC check, which is the cheap part).
    """
    for record, data in enumerate(read_tfrecord(path)):
        number = first_number + record
        if keep is None or number in keep:
            yield parse_page(data, number, f"{path}, record {record}")


def _parse_record(data: bytes, source: str) -> tuple[dict, dict]:
    """``(context, feature lists)`` of the :data:`DECODED_FEATURES` of one record, with every
    release feature present checked for its type and every sequence feature for its length."""
    try:
        decoded = decode_sequence_example(data, names=DECODED_FEATURES)
    except ValueError as error:
        raise ValueError(f"{source}: not a valid SequenceExample ({error})") from error
    for name, kind in decoded.kinds.items():
        expected = FEATURE_KINDS.get(name)
        if kind is not None and expected is not None and kind != expected:
            raise ValueError(f"{source}: feature {name!r} is a {kind}; the release stores it as a {expected}")
    num_sections = decoded.lengths.get("section_title", 0)
    for name, steps in decoded.lengths.items():
        if name in FEATURE_KINDS and steps != num_sections:
            raise ValueError(
                f"{source}: sequence feature {name!r} has {steps} entries but 'section_title' has {num_sections}"
            )
    return decoded.context, decoded.feature_lists


def _release_split(context: dict, source: str) -> str:
    """The record's ``split`` context feature ("train" / "val" / "test"), validated."""
    if "split" not in context:
        raise ValueError(
            f"{source}: missing the context feature 'split' (a bytes_list holding one of {sorted(SPLIT_NAMES)})"
        )
    split = _text(_one(context["split"], b""))
    if split not in SPLIT_NAMES:
        raise ValueError(
            f"{source}: context feature 'split' is {split!r}; expected one of {sorted(SPLIT_NAMES)}"
        )
    return split
