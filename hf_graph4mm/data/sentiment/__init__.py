"""Your own sentiment features (ragged ``[time, dim]`` text / audio / vision sequences) as GsiT datasets.

Two input layouts (docs/OWN_DATA_SENTIMENT.md):

- a table of rows (parquet, JSON Lines; a file, or a folder of ``{split}.parquet`` files): columns
  ``text`` / ``audio`` / ``vision`` (or ``*_features``), each cell a ``[time, dim]`` nested list or
  array of any length; ``label`` (or ``labels``); optional ``id`` and ``split``;
- a folder of ``.npy`` files, one per sample and modality, and a labels table::

      features/labels.csv          id,label[,split]
      features/text/<id>.npy       [time, text_dim] float
      features/audio/<id>.npy      [time, audio_dim]
      features/vision/<id>.npy     [time, vision_dim]

Both become the columns our MMSA builder writes (``id``, ``text_features``, ``audio_features``,
``vision_features`` with their ``*_lengths``, ``labels``), stored unpadded; :func:`save_sentiment_dataset`
writes ``data/{split}.parquet`` as the release scripts do. Modules: :mod:`.reader` (the files, checked),
:mod:`.builder` (the ``datasets`` columns).
"""

from .builder import (
    is_npy_layout,
    load_sentiment_features,
    save_sentiment_dataset,
    sentiment_dataset,
    sentiment_features,
)
from .reader import LABEL_TABLES, read_npy_folder

__all__ = [
    "LABEL_TABLES",
    "is_npy_layout",
    "load_sentiment_features",
    "read_npy_folder",
    "save_sentiment_dataset",
    "sentiment_dataset",
    "sentiment_features",
]
