"""The local weights cache: ``$PLUME_CACHE_DIR`` or ``~/.cache/plume/models``.

A version's file is kept as ``<cache>/<sha256>/<its own file name>`` (frameworks read the
extension), so the same weights are downloaded once whatever model or version names them; weights
registered by URI without a recorded SHA-256 are keyed by the SHA-256 of the URI instead
(``uri-<digest>``). A package's files are extracted once into ``<cache>/<key>/package/``.
Archives waiting to be uploaded are kept under ``<cache>/.pending/``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

CACHE_ENV = "PLUME_CACHE_DIR"
PACKAGE_DIR = "package"


def cache_dir() -> Path:
    """The cache's root folder (made if needed)."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "plume", "models")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def pending_dir() -> Path:
    """Where archives made by ``update_weights_package`` wait for their upload."""
    path = cache_dir() / ".pending"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(sha256: str | None, uri: str) -> str:
    """The cache folder of a file: its SHA-256, or ``uri-<sha256 of the URI>`` when unknown."""
    return sha256 if sha256 else "uri-" + hashlib.sha256(uri.encode()).hexdigest()


def cached_file(key: str, filename: str) -> Path:
    """Where a file lives in the cache (its folder is made; the file may not be there yet)."""
    folder = cache_dir() / key
    folder.mkdir(parents=True, exist_ok=True)
    return folder / filename


def extracted(archive: Path) -> Path:
    """The folder the zip ``archive`` (in its cache folder) is extracted to; extracted once.

    zipfile drops absolute paths and ``..`` from member names, so no member lands outside it.
    """
    target = archive.parent / PACKAGE_DIR
    if target.is_dir():
        return target
    tmp = archive.parent / (PACKAGE_DIR + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp)
    tmp.replace(target)
    return target


def pack(files: list[tuple[Path, str]], archive: Path) -> Path:
    """Write ``(path, name in the archive)`` pairs into the zip ``archive`` (stored: weights barely
    compress, and the caller waits for this copy)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for path, name in files:
            zf.write(path, arcname=name)
    return archive
