"""A local path or a Hub id? Decided before anything is downloaded; without the Hub, failing at once.

The CLI's ``--model``, ``--dataset``, ``--model_name_or_path`` and backbone arguments take either a local
file / folder or a Hub repository id. A name that exists on disk is local. A name that does not exist
but reads as a path (``./x``, ``/x``, ``~/x``, ``a/b/c``, a known file suffix, or a first component that
is an existing folder, as in ``outputs/run`` while ``outputs/`` exists) is a missing path: a clear error,
never a Hub lookup. Anything else (``name`` or ``org/name``) is a Hub id, and needs the Hub: with
``HF_HUB_OFFLINE=1`` or no network it fails here, in seconds, saying what to do (unless a model is in the
local Hub cache), instead of after the client's retries.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
FILE_SUFFIXES = (
    ".parquet",
    ".arrow",
    ".jsonl",
    ".json",
    ".csv",
    ".pkl",
    ".yaml",
    ".yml",
    ".npy",
    ".safetensors",
)
TRUE_VALUES = ("1", "true", "yes", "on")
_PROBE_TIMEOUT_S = 3.0
_probe_result: dict[str, str | None] = {}


class HubUnavailableError(ValueError):
    """A Hub id was named while the Hub cannot be used (offline mode, or no network)."""


def hub_unavailable_reason() -> str | None:
    """Why the Hub cannot be used now (``HF_HUB_OFFLINE`` set, or its host unreachable), or None.

    The network is probed once per process: one TCP connection to the endpoint's host, 3 s at most.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE_VALUES:
        return "HF_HUB_OFFLINE=1 is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if endpoint not in _probe_result:
        parsed = urlparse(endpoint)
        host = parsed.hostname or "huggingface.co"
        port = parsed.port or (80 if parsed.scheme == "http" else 443)
        try:
            with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S):
                _probe_result[endpoint] = None
        except OSError as error:
            _probe_result[endpoint] = f"{host} cannot be reached ({error.__class__.__name__}: {error})"
    return _probe_result[endpoint]


def reads_as_path(name: str) -> bool:
    """Whether a name that is not on disk was meant as a path rather than a Hub id."""
    if name.startswith(("/", "./", "../", "~", ".\\")) or "\\" in name or name in (".", ".."):
        return True
    if name.count("/") > 1 or name.lower().endswith(FILE_SUFFIXES):
        return True
    if "/" in name and Path(name.split("/", 1)[0]).is_dir():
        return True
    return HUB_ID.match(name) is None


def _cached_on_hub(repo_id: str, repo_type: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return False
    filename = "config.json" if repo_type == "model" else "README.md"
    return isinstance(try_to_load_from_cache(repo_id, filename, repo_type=repo_type), str)


def resolve_reference(name: str, *, what: str, repo_type: str = "model") -> str:
    """``"local"`` when ``name`` is on disk, ``"hub"`` when it is a usable Hub id; else a clear error.

    Args:
        name: what the user gave.
        what: how the error names the argument (``--model``, ``--dataset``...).
        repo_type: "model" or "dataset" (a cached model is usable offline).

    Raises:
        FileNotFoundError: ``name`` reads as a path and nothing is there.
        HubUnavailableError: ``name`` is a Hub id and the Hub cannot be reached (nor is it cached).
    """
    if Path(name).expanduser().exists():
        return "local"
    if reads_as_path(name):
        raise FileNotFoundError(
            f"{what} {name!r}: there is no such file or folder (relative to {os.getcwd()}); check the path"
        )
    reason = hub_unavailable_reason()
    if reason is None:
        return "hub"
    offline_mode = os.environ.get("HF_HUB_OFFLINE", "").lower() in TRUE_VALUES
    if repo_type == "model" and offline_mode and _cached_on_hub(name, repo_type):
        return "hub"  # transformers reads it from the cache
    kind = "dataset" if repo_type == "dataset" else "model"
    raise HubUnavailableError(
        f"{what} {name!r} is neither a local file or folder nor usable as a Hub {kind} id: {reason}. "
        f"If it is a local path, check it; if it is on the Hub, download it where there is a network "
        f"(`hf download {name}{' --repo-type dataset' if kind == 'dataset' else ''} --local-dir DIR`) and pass "
        "DIR, or fill the Hub cache and set HF_HUB_OFFLINE=1"
    )


def require_local(name: str, *, what: str) -> Path:
    """A path that must exist on disk (a raw release, an images folder): never looked up on the Hub.

    Raises:
        FileNotFoundError: nothing is there.
    """
    path = Path(name).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"{what} {name!r}: there is no such file or folder (relative to {os.getcwd()}); check the path"
        )
    return path
