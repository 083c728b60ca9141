"""Class labels and their verbalisers: the texts Graph4MM generates (training) and ranks (evaluation).

Node classification with Graph4MM is text generation: each class has a *verbaliser*, the text
the model learns to write for a node of that class and whose likelihood ranks the classes at
evaluation (``model.score_candidates``). By default a class's verbaliser is its name; give
``verbalizers={"shoe": "a pair of shoes"}`` (or a ``template`` such as ``"a photo of {}"``) to say
it differently. Verbalisers must be distinct and non-empty (they are the candidates ranked).

:class:`Verbalizer` is saved as ``labels.json`` next to a built dataset::

    {"label_names": ["hat", "shoe"], "verbalizers": ["a hat", "a pair of shoes"]}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LABELS_FILE = "labels.json"


@dataclass(frozen=True)
class Verbalizer:
    """Class names (class id = position) and the text of each class."""

    label_names: tuple[str, ...]
    texts: tuple[str, ...]

    def __post_init__(self):
        if not self.label_names:
            raise ValueError("a classification task needs at least one label")
        if len(self.texts) != len(self.label_names):
            raise ValueError(f"{len(self.label_names)} labels but {len(self.texts)} verbalisers")
        for name, text in zip(self.label_names, self.texts):
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"label names must be non-empty strings, got {name!r}")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"the verbaliser of label {name!r} must be a non-empty string, got {text!r}")
        for values, what in ((self.label_names, "label names"), (self.texts, "verbalisers")):
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(
                    f"{what} must be distinct (they are ranked against each other); repeated: {repeated}"
                )

    @classmethod
    def build(
        cls,
        label_names: Sequence[str],
        verbalizers: Mapping[str, str] | Sequence[str] | None = None,
        template: str = "{}",
    ) -> Verbalizer:
        """``label_names`` with ``verbalizers`` (a mapping from some names to texts, or one text per
        name); names without one are written with ``template`` (``"{}"``: the name itself)."""
        if "{}" not in template:
            raise ValueError(f"the verbaliser template must contain '{{}}' for the label, got {template!r}")
        names = tuple(label_names)
        if verbalizers is None:
            verbalizers = {}
        if isinstance(verbalizers, Mapping):
            unknown = sorted(set(verbalizers) - set(names))
            if unknown:
                raise ValueError(
                    f"verbalisers given for unknown labels {unknown}; the labels are {list(names)}"
                )
            texts = tuple(verbalizers.get(name, template.format(name)) for name in names)
        else:
            texts = tuple(verbalizers)
        return cls(label_names=names, texts=texts)

    @classmethod
    def from_labels(cls, labels: Sequence, label_names: Sequence[str] | None = None, **options) -> Verbalizer:
        """The label set of per-node ``labels`` (names, or class ids named by ``label_names``;
        ``None`` = unlabelled). Names found in the data are sorted; ids without ``label_names``
        are named ``"class {id}"``."""
        present = [label for label in labels if label is not None]
        if label_names is None:
            if present and isinstance(present[0], int):
                label_names = [f"class {i}" for i in range(max(present) + 1)]
            else:
                label_names = sorted(set(present))
        else:
            label_names = list(label_names)
            for label in present:
                if isinstance(label, int) and not 0 <= label < len(label_names):
                    raise ValueError(f"class id {label} has no name among the {len(label_names)} label_names")
                if isinstance(label, str) and label not in label_names:
                    raise ValueError(f"label {label!r} is not one of label_names {label_names}")
        return cls.build(label_names, **options)

    def name_of(self, label) -> str:
        """The class name of a label given as a name or a class id."""
        return self.label_names[label] if isinstance(label, int) else label

    def text_of(self, label) -> str:
        return self.texts[self.label_names.index(self.name_of(label))]

    def save(self, folder: str | os.PathLike) -> Path:
        path = Path(folder) / LABELS_FILE
        path.write_text(
            json.dumps({"label_names": list(self.label_names), "verbalizers": list(self.texts)}, indent=2)
            + "\n",
            encoding="utf-8",
        )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Verbalizer:
        """From a ``labels.json`` file, or the folder holding one."""
        path = Path(path)
        if path.is_dir():
            path = path / LABELS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read the labels file {path}: {error}") from None
        if not isinstance(data, dict) or not isinstance(data.get("label_names"), list):
            raise ValueError(f"{path}: expected {{'label_names': [...], 'verbalizers': [...]}}")
        return cls.build(data["label_names"], data.get("verbalizers"))
