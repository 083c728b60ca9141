"""WikiWeb2M (section summarisation) from the release's TFRecord shards.

Modules, from the bytes up: :mod:`.tfrecord` (TFRecord framing and ``SequenceExample`` codec),
:mod:`.pages` (a record -> a page), :mod:`.shards` (file names and splits checked, pages
numbered), :mod:`.graph` (a page -> its graph and examples), :mod:`.arrow` (a shard -> Arrow
files), :mod:`.builder` (the ``datasets`` builder, :func:`load_wikiweb2m`) and :mod:`.download`
(the images behind the release's URLs).
"""

from .._testing_exports import testing_exports
from .builder import FEATURES, WikiWeb2MBuilder, WikiWeb2MConfig, load_wikiweb2m, wikiweb2m_image_jobs

__all__ = [
    "FEATURES",
    "WikiWeb2MBuilder",
    "WikiWeb2MConfig",
    "load_wikiweb2m",
    "wikiweb2m_image_jobs",
    "write_wikiweb2m_sample",
]

__getattr__ = testing_exports(__name__, "samples.wikiweb2m", ("write_wikiweb2m_sample",))
