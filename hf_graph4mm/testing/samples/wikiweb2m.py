"""A tiny WikiWeb2M sample in the release's format, generated from templates (for the demo and tests).

Pages about made-up towns, rivers, birds and mountains; each section's first sentence
restates facts found in its other sentences or in the page, so a small model can learn to
write it. Images are seeded noise over a colour that depends on the topic.
:func:`make_page` builds one page record by hand, for tests that need a given layout.
"""

from __future__ import annotations

import os
import random

from ...data.wikiweb2m.pages import FEATURE_KINDS, SEQUENCE_BYTES, SEQUENCE_INT64, image_file_name
from ...data.wikiweb2m.tfrecord import encode_sequence_example, write_tfrecord

# (title, parent title or None, first sentence, rest sentences, is a summarisation sample,
#  images as (caption, extension); a caption of "" means the release had none)
_TOPICS = {
    "town": {
        "description": "{name} is a market town in the {region} region on the {river}.",
        "color": (150, 90, 70),
        "sections": [
            (
                "History",
                None,
                "{name} was founded in {year} by {founder}.",
                "The {founder} who came in {year} built the first houses by the {river}. "
                "The town grew slowly until the railway arrived.",
                True,
                [("The old market hall of {name}", "jpg")],
            ),
            (
                "Geography",
                None,
                "{name} lies in the {region} region on the {river}.",
                "The land around {name} is flat and fertile. The {river} floods the lower streets "
                "every few winters.",
                True,
                [],
            ),
            (
                "Climate",
                "Geography",
                "{name} has mild summers and wet winters.",
                "Most rain falls in the winter months. Snow is rare in {name}.",
                True,
                [],
            ),
            (
                "Economy",
                None,
                "The economy of {name} is based on {industry}.",
                "About {population} people live in {name}. Most of them work in {industry}.",
                True,
                [("A {industry} workshop in {name}", "png")],
            ),
            (
                "Culture",
                None,
                "{name} is known for its {festival}.",
                "The {festival} takes place every {season}. Visitors come from all over {region} to see it.",
                False,
                [("The {festival} in {name}", "jpg"), ("", "png")],
            ),
        ],
        "values": {
            "region": ["Northmoor", "Eastvale", "Greenfield"],
            "river": ["river Amble", "river Tarn", "river Ouse"],
            "year": ["1204", "1388", "1512"],
            "founder": ["wool merchants", "fishermen", "monks"],
            "industry": ["textiles", "fishing", "clockmaking"],
            "population": ["8,000", "12,500", "4,300"],
            "festival": ["lantern parade", "cheese fair", "boat race"],
            "season": ["spring", "summer", "autumn"],
        },
        "names": ["Elmbridge", "Stonecross", "Harwick"],
    },
    "river": {
        "description": "The {name} is a river in {region} that flows into the {sea}.",
        "color": (60, 110, 190),
        "sections": [
            (
                "Course",
                None,
                "The {name} rises on {mountain} and flows into the {sea}.",
                "From its source on {mountain} it runs for {length} kilometres. It reaches the {sea} "
                "near the port of {port}.",
                True,
                [("The source of the {name} on {mountain}", "jpg")],
            ),
            (
                "Tributaries",
                "Course",
                "The main tributary of the {name} is the {tributary}.",
                "The {tributary} joins it below {port}. Several small streams also feed the river.",
                True,
                [],
            ),
            (
                "Wildlife",
                None,
                "The {name} is home to {fish}.",
                "Anglers come to the {name} to catch {fish}. Otters live along its banks.",
                True,
                [("{fish} in the {name}", "png")],
            ),
        ],
        "values": {
            "region": ["Northmoor", "Eastvale", "Greenfield"],
            "sea": ["North Sea", "Grey Sea"],
            "mountain": ["Mount Carrow", "Mount Fell"],
            "length": ["120", "85", "210"],
            "port": ["Saltby", "Wexmouth"],
            "tributary": ["Little Brook", "river Lune"],
            "fish": ["brown trout", "salmon", "grayling"],
        },
        "names": ["Amble", "Wendle"],
    },
    "bird": {
        "description": "The {name} is a small {color} bird of the {habitat}.",
        "color": (120, 100, 40),
        "sections": [
            (
                "Description",
                None,
                "The {name} is a small bird with {color} feathers.",
                "Adults weigh about {weight} grams. Males and females look alike, with {color} backs.",
                True,
                [("An adult {name}", "jpg")],
            ),
            (
                "Habitat",
                None,
                "The {name} lives in the {habitat} of {region}.",
                "It nests low in the {habitat}. In winter it moves to gardens near {region}.",
                True,
                [],
            ),
            (
                "Diet",
                None,
                "The {name} feeds mainly on {food}.",
                "It searches for {food} on the ground. In autumn it also eats berries.",
                True,
                [("A {name} eating {food}", "png")],
            ),
            (
                "Breeding",
                "Habitat",
                "The {name} lays {eggs} eggs in spring.",
                "Both parents feed the young. The {eggs} chicks leave the nest after two weeks.",
                True,
                [],
            ),
        ],
        "values": {
            "color": ["brown", "olive", "grey"],
            "habitat": ["reed beds", "pine forests", "heathland"],
            "region": ["Northmoor", "Eastvale"],
            "weight": ["12", "20", "35"],
            "food": ["insects", "seeds", "snails"],
            "eggs": ["four", "five", "six"],
        },
        "names": ["Reed Warbler", "Heath Finch"],
    },
    "mountain": {
        "description": "{name} is a mountain in the {range} with a height of {height} metres.",
        "color": (200, 200, 210),
        "sections": [
            (
                "Geology",
                None,
                "{name} is made of {rock}.",
                "The {rock} formed millions of years ago. Glaciers later carved its steep north face.",
                True,
                [("The north face of {name}", "jpg")],
            ),
            (
                "Climbing",
                None,
                "{name} was first climbed in {year} by {climber}.",
                "{climber} reached the summit in {year} after three attempts. Today the normal route takes "
                "six hours.",
                True,
                [("The summit of {name}", "png")],
            ),
            (
                "Routes",
                "Climbing",
                "The normal route up {name} follows the {ridge}.",
                "The {ridge} is steep but safe in summer. Guides lead groups along it.",
                True,
                [],
            ),
        ],
        "values": {
            "range": ["Grey Range", "Carrow Hills"],
            "height": ["2,410", "1,870", "3,050"],
            "rock": ["granite", "limestone", "slate"],
            "year": ["1865", "1902", "1931"],
            "climber": ["Anna Holt", "John Marsh", "Ellen Price"],
            "ridge": ["east ridge", "south ridge"],
        },
        "names": ["Carrow Peak", "High Fell"],
    },
}

# (shard file name, release split, topics of its pages); file names as the release names them.
_SHARDS = [
    ("wikiweb2m-test.tfrecord.gz", "test", [("town", 2), ("bird", 1)]),
    (
        "wikiweb2m-train.tfrecord.gz-00000-of-00001",
        "train",
        [("town", 0), ("river", 0), ("bird", 0), ("mountain", 0), ("town", 1), ("mountain", 1)],
    ),
    ("wikiweb2m-val.tfrecord.gz", "val", [("river", 1)]),
]
# One image whose file is left out, as after a download that failed: it stays as a caption node.
_MISSING_IMAGE = (1, 0, 0)  # (page, section, slot)


def _fill(template: str, values: dict) -> str:
    return template.format(**values)


def _page_record(topic: str, name: str, split: str, page: int, rng: random.Random, images: dict) -> bytes:
    spec = _TOPICS[topic]
    values = {key: rng.choice(options) for key, options in spec["values"].items()}
    values["name"] = name
    title_to_index = {title: position for position, (title, *_) in enumerate(spec["sections"])}
    context = {
        "split": [split],
        "page_title": [name],
        "page_url": [f"https://en.wikipedia.org/wiki/{name.replace(' ', '_')}"],
        "clean_page_description": [_fill(spec["description"], values)],
        "raw_page_description": [_fill(spec["description"], values)],
        "is_page_description_sample": [1],
        "page_contains_images": [1],
        "page_content_sections_without_table_list": [len(spec["sections"])],
    }
    steps: dict[str, list[list]] = {name: [] for name in SEQUENCE_INT64 + SEQUENCE_BYTES}
    for position, (title, parent, first, rest, is_sample, section_images) in enumerate(spec["sections"]):
        first, rest = _fill(first, values), _fill(rest, values)
        parent_index = title_to_index[parent] if parent else -1
        urls, captions = [], []
        for slot, (caption, extension) in enumerate(section_images):
            url = (
                f"https://example.org/wikiweb2m-sample/{name.replace(' ', '_')}_{position}_{slot}.{extension}"
            )
            urls.append(url)
            captions.append(_fill(caption, values))
            if (page, position, slot) != _MISSING_IMAGE:
                images[image_file_name(page, position, slot, url)] = spec["color"]
        row = {
            "section_title": [title],
            "section_index": [position],
            "section_depth": [2 if parent else 1],
            "section_heading_level": [3 if parent else 2],
            "section_subsection_index": [0],
            "section_parent_index": [parent_index],
            "section_text": [f"{first} {rest}"],
            "section_clean_1st_sentence": [first],
            "section_raw_1st_sentence": [first],
            "section_rest_sentence": [rest],
            "is_section_summarization_sample": [int(is_sample)],
            "section_contains_table_or_list": [0],
            "section_contains_images": [int(bool(urls))],
            "section_image_url": urls,
            "section_image_mime_type": ["image/png" if u.endswith("png") else "image/jpeg" for u in urls],
            "section_image_width": [32] * len(urls),
            "section_image_height": [32] * len(urls),
            "section_image_in_wit": [0] * len(urls),
            "is_image_caption_sample": [0] * len(urls),
            "section_image_captions": captions,
            "section_image_alt_text": captions,
            "section_image_raw_attr_desc": [""] * len(urls),
            "section_image_clean_attr_desc": [""] * len(urls),
            "section_image_raw_ref_desc": captions,
            "section_image_clean_ref_desc": captions,
        }
        for feature, value in row.items():
            steps[feature].append(value)
    return encode_sequence_example(context, steps, FEATURE_KINDS)


def _write_image(path: str, color: tuple[int, int, int], seed: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    gradient = np.linspace(-40, 40, 32)[None, :, None]
    pixels = np.clip(np.array(color)[None, None, :] + gradient + rng.normal(0, 18, (32, 32, 3)), 0, 255)
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    image.save(path, quality=80) if path.endswith(".jpg") else image.save(path, optimize=True)


def write_wikiweb2m_sample(out_dir: str | os.PathLike, seed: int = 0) -> dict[str, int]:
    """Write the sample shards to ``out_dir`` and their images to ``out_dir/images``.

    Returns counts: ``{"pages", "samples", "images"}``. Rerunning gives identical bytes.
    """
    out_dir = str(out_dir)
    images_dir = os.path.join(out_dir, "images")
    os.makedirs(images_dir, exist_ok=True)
    rng = random.Random(seed)
    images: dict[str, tuple[int, int, int]] = {}
    page = samples = 0
    for file_name, split, pages in sorted(_SHARDS):  # page numbers follow the sorted file names
        records = []
        for topic, name_index in pages:
            name = _TOPICS[topic]["names"][name_index]
            records.append(_page_record(topic, name, split, page, rng, images))
            samples += sum(1 for section in _TOPICS[topic]["sections"] if section[4])
            page += 1
        write_tfrecord(os.path.join(out_dir, file_name), records)
    for index, (file_name, color) in enumerate(sorted(images.items())):
        _write_image(os.path.join(images_dir, file_name), color, seed * 1000 + index)
    return {"pages": page, "samples": samples, "images": len(images)}


def make_page(
    title: str, split: str = "train", sections=(), description: str = "A page about tests."
) -> bytes:
    """A SequenceExample with every release feature; ``sections`` are dicts with keys
    title, parent, first, rest, sample, images (list of (url, caption))."""
    context = {
        "split": [split],
        "page_title": [title],
        "page_url": [f"https://en.wikipedia.org/wiki/{title}"],
        "clean_page_description": [description],
        "raw_page_description": [description],
        "is_page_description_sample": [1],
        "page_contains_images": [1],
        "page_content_sections_without_table_list": [len(sections)],
    }
    steps = {name: [] for name in SEQUENCE_INT64 + SEQUENCE_BYTES}
    for position, section in enumerate(sections):
        images = section.get("images", [])
        per_image = {
            "section_image_url": [url for url, _ in images],
            "section_image_captions": [caption for _, caption in images],
            "section_image_mime_type": ["image/png"] * len(images),
            "section_image_alt_text": [""] * len(images),
            "section_image_raw_attr_desc": [""] * len(images),
            "section_image_clean_attr_desc": [""] * len(images),
            "section_image_raw_ref_desc": [""] * len(images),
            "section_image_clean_ref_desc": [""] * len(images),
            "section_image_width": [8] * len(images),
            "section_image_height": [8] * len(images),
            "section_image_in_wit": [0] * len(images),
            "is_image_caption_sample": [0] * len(images),
        }
        first, rest = section.get("first", f"{section['title']} starts here."), section.get("rest", "")
        row = {
            "section_title": [section["title"]],
            "section_index": [position],
            "section_depth": [1],
            "section_heading_level": [2],
            "section_subsection_index": [0],
            "section_parent_index": [section.get("parent", -1)],
            "section_text": [f"{first} {rest}"],
            "section_clean_1st_sentence": [first],
            "section_raw_1st_sentence": [first],
            "section_rest_sentence": [rest],
            "is_section_summarization_sample": [int(section.get("sample", True))],
            "section_contains_table_or_list": [0],
            "section_contains_images": [int(bool(images))],
            **per_image,
        }
        for name, value in row.items():
            steps[name].append(value)
    return encode_sequence_example(context, steps, FEATURE_KINDS)
