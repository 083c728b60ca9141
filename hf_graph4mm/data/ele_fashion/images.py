"""Finding each Ele-Fashion product's image: the image folder, or the released tar extracted once."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from .files import IMAGE_FOLDER, IMAGE_TAR, locate

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")


def extract_images(tar_path: Path, destination: Path) -> None:
    """Extract the image members of the released tar once (``filter="data"`` refuses unsafe paths)."""
    marker = destination / f".{tar_path.name}.extracted"
    if marker.exists():
        return
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(tar_path) as archive:
            members = [
                m for m in archive.getmembers() if m.isfile() and m.name.lower().endswith(IMAGE_SUFFIXES)
            ]
            archive.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise ValueError(f"{tar_path}: cannot extract the image archive ({error})") from None
    marker.touch()


def has_image_source(raw_dir: Path, image_dir: str | os.PathLike | None) -> bool:
    return image_dir is not None or any(locate(raw_dir, name) for name in (IMAGE_FOLDER, IMAGE_TAR))


def locate_images(
    raw_dir: Path, raw_ids: list[str], image_dir: str | os.PathLike | None = None
) -> list[str | None]:
    """Per-node image path (``{raw id}.{ext}``, else ``{node index}.{ext}``), None where absent.

    Looks in ``image_dir`` if given, else in ``ele-fashion-images/`` under ``raw_dir`` or
    ``raw_dir/raw-data``; if only the tar exists it is extracted into ``image_dir`` (default:
    the tar's folder).
    """
    folder = Path(image_dir) if image_dir is not None else locate(raw_dir, IMAGE_FOLDER)
    tar_path = locate(raw_dir, IMAGE_TAR)
    if tar_path is not None and (folder is None or not folder.is_dir() or not any(folder.iterdir())):
        folder = folder or tar_path.parent
        extract_images(tar_path, folder)
    if folder is None or not folder.is_dir():
        return [None] * len(raw_ids)
    by_stem: dict[str, str] = {}
    for root, _, files in os.walk(folder):
        for name in files:
            stem, suffix = os.path.splitext(name)
            if suffix.lower() in IMAGE_SUFFIXES:
                by_stem.setdefault(stem, os.path.join(root, name))
    return [by_stem.get(raw_id) or by_stem.get(str(index)) for index, raw_id in enumerate(raw_ids)]
