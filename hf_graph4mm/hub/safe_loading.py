"""Loading a checkpoint safely: safetensors only, checked before any weight is read.

:func:`check_checkpoint` refuses, with a ValueError naming the file and the problem:
- a folder without ``config.json`` or with one that is not JSON, or whose ``model_type`` is not
  the one expected;
- pickle-based weights (``*.bin``, ``*.pt``, ``*.pth``, ``*.ckpt``): unpickling runs code;
- a safetensors file whose header does not parse or does not cover the file exactly (a truncated
  download, a tampered header), a shard listed in the index but missing;
- a file whose SHA-256 differs from ``weights_sha256.json`` (written by ``save_for_hub``): the
  structure checks cannot see altered tensor bytes, the digest can;
- missing processor files, when a processor is required.

:func:`load_checkpoint` runs those checks, loads with ``use_safetensors=True`` and treats missing or
unexpected weights as errors (transformers only logs them).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from safetensors import SafetensorError, safe_open

CONFIG_FILE = "config.json"
WEIGHTS_INDEX = "model.safetensors.index.json"
CHECKSUMS_FILE = "weights_sha256.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
PROCESSOR_FILE = "processor_config.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
HUB_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt"]  # never the pickles
HUB_KWARGS = ("revision", "token", "cache_dir", "local_files_only")


def resolve_checkpoint(name_or_path: str | os.PathLike, **hub_kwargs) -> Path:
    """A local folder, or the snapshot of a Hub repo id (from the cache when ``HF_HUB_OFFLINE=1``).

    Only configs, safetensors and tokenizer files are fetched; ``hub_kwargs`` (revision, token,
    cache_dir) go to ``snapshot_download``.
    """
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if path.exists():
        raise ValueError(f"{path} is a file; give the checkpoint folder (the one holding {CONFIG_FILE})")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        return Path(snapshot_download(str(name_or_path), allow_patterns=HUB_PATTERNS, **hub_kwargs))
    except HFValidationError as error:
        raise ValueError(f"{name_or_path!r} is neither a folder nor a valid Hub repo id ({error})") from error
    except Exception as error:  # offline without a cached copy, unknown repo, no network
        raise ValueError(
            f"cannot find checkpoint {name_or_path!r} locally or in the Hub cache: {error}"
        ) from error


def read_config(folder: Path, expected_model_type: str | tuple[str, ...] | None = None) -> dict:
    """``config.json`` as a dict, with its ``model_type`` checked against ``expected_model_type``."""
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise ValueError(f"{folder} has no {CONFIG_FILE}: not a saved model folder")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{config_path} is not valid JSON ({error})") from error
    model_type = config.get("model_type")
    if expected_model_type is not None:
        expected = (
            (expected_model_type,) if isinstance(expected_model_type, str) else tuple(expected_model_type)
        )
        if model_type not in expected:
            raise ValueError(
                f"{config_path} has model_type {model_type!r}, but a {' or '.join(map(repr, expected))} "
                "checkpoint was expected"
            )
    return config


def weight_files(folder: Path) -> list[Path]:
    """The safetensors files of a checkpoint (all shards of a sharded one)."""
    index_path = folder / WEIGHTS_INDEX
    if index_path.is_file():
        try:
            weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, KeyError) as error:
            raise ValueError(f"{index_path} is not a valid safetensors index ({error!r})") from error
        files = [folder / name for name in sorted(set(weight_map.values()))]
        missing = [file.name for file in files if not file.is_file()]
        if missing:
            raise ValueError(f"{index_path} lists shards that are missing from {folder}: {missing}")
        return files
    files = sorted(folder.glob("*.safetensors"))
    if files:
        return files
    pickles = sorted(path.name for path in folder.iterdir() if path.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise ValueError(
            f"{folder} holds only pickle weights {pickles}; refusing to load them (unpickling can run "
            "arbitrary code). Convert them to safetensors with a trusted copy of the code."
        )
    raise ValueError(f"{folder} has no *.safetensors weights")


def check_safetensors_file(path: Path) -> None:
    """Parse the header and check it covers the file exactly (the library's own validation)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            handle.keys()
    except SafetensorError as error:
        raise ValueError(
            f"{path} is not a valid safetensors file; it is probably truncated or was modified "
            f"({error}). Download or save it again."
        ) from error


def sha256_of(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_checksums(folder: str | os.PathLike) -> dict[str, str]:
    """Record the SHA-256 of every weights file in ``weights_sha256.json``."""
    folder = Path(folder)
    checksums = {path.name: sha256_of(path) for path in weight_files(folder)}
    (folder / CHECKSUMS_FILE).write_text(
        json.dumps(checksums, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return checksums


def verify_checksums(folder: Path) -> None:
    """Compare the weights with ``weights_sha256.json`` when the folder has one."""
    manifest = folder / CHECKSUMS_FILE
    if not manifest.is_file():
        return
    try:
        expected = json.loads(manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{manifest} is not valid JSON ({error})") from error
    for name, digest in expected.items():
        path = folder / name
        if not path.is_file():
            raise ValueError(f"{name} is listed in {CHECKSUMS_FILE} but missing from {folder}")
        if sha256_of(path) != digest:
            raise ValueError(
                f"{name} does not match its SHA-256 in {CHECKSUMS_FILE}: the weights were modified or "
                "corrupted after saving"
            )


def check_processor_files(folder: Path) -> None:
    """A Graph4MM processor needs its own config and the tokenizer's files."""
    missing = [name for name in (PROCESSOR_FILE,) if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        missing.append(" or ".join(TOKENIZER_FILES))
    if missing:
        raise ValueError(
            f"{folder} lacks the processor files {missing}; save them with processor.save_pretrained(folder)"
        )


def check_checkpoint(
    name_or_path: str | os.PathLike,
    expected_model_type: str | tuple[str, ...] | None = None,
    require_processor: bool = False,
    **hub_kwargs,
) -> Path:
    """Run every check above; returns the checkpoint folder."""
    folder = resolve_checkpoint(name_or_path, **hub_kwargs)
    read_config(folder, expected_model_type)
    for path in weight_files(folder):
        check_safetensors_file(path)
    verify_checksums(folder)
    if require_processor:
        check_processor_files(folder)
    return folder


def load_checkpoint(name_or_path: str | os.PathLike, model_class, expected_model_type=None, **kwargs):
    """Check, then ``model_class.from_pretrained`` with safetensors only; missing/unexpected weights raise.

    Args:
        model_class: a model class or an Auto class (``AutoModelForSequenceClassification``...).
        expected_model_type: the ``model_type`` the config must have (default: any).
        kwargs: passed on to ``from_pretrained`` (``dtype``, ``device_map``, ``attn_implementation``...).
    """
    folder = check_checkpoint(name_or_path, expected_model_type)
    model, info = model_class.from_pretrained(
        folder, use_safetensors=True, output_loading_info=True, **kwargs
    )
    problems = {
        key: sorted(info.get(key) or []) for key in ("missing_keys", "unexpected_keys", "mismatched_keys")
    }
    problems = {key: value for key, value in problems.items() if value}
    if problems:
        raise ValueError(f"the weights in {folder} do not fit {type(model).__name__}: {problems}")
    return model


def safe_model_loader(model_class, model_type: str) -> type:
    """A stand-in for ``model_class`` whose ``from_pretrained`` runs :func:`check_checkpoint` first.

    Registered as a pipeline task's model class, it makes ``pipeline(task, model=folder_or_id)``
    refuse what :func:`check_checkpoint` refuses (transformers reports our ValueError).
    """

    def from_pretrained(cls, name_or_path, *args, **kwargs):
        hub_kwargs = {key: kwargs[key] for key in HUB_KWARGS if kwargs.get(key) is not None}
        folder = check_checkpoint(name_or_path, expected_model_type=model_type, **hub_kwargs)
        kwargs["use_safetensors"] = True
        return model_class.from_pretrained(
            folder if Path(name_or_path).is_dir() else name_or_path, *args, **kwargs
        )

    return type(f"Safe{model_class.__name__}", (), {"from_pretrained": classmethod(from_pretrained)})


__all__ = [
    "check_checkpoint",
    "check_processor_files",
    "check_safetensors_file",
    "load_checkpoint",
    "read_config",
    "resolve_checkpoint",
    "safe_model_loader",
    "verify_checksums",
    "weight_files",
    "write_checksums",
]
