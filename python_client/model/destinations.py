"""Where weights go: the Plume server (the default), ``file://`` paths, or any ``fsspec`` URL whose
filesystem package is installed (``s3://`` with ``s3fs``, ``gs://`` with ``gcsfs``, ``memory://``...).

The target of an upload is ``<destination>/<model id>/<version id>/<filename>``: one folder per
version, so that a version's file is never overwritten by a later one.
"""

from __future__ import annotations

import os
import posixpath
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

MAX_NAME = 200


def safe_filename(name: str, what: str = "target_filename") -> str:
    """``name`` if it is a plain file name (ValueError for paths, ``..``, hidden or odd names)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty file name")
    if "/" in name or "\\" in name or ":" in name or name in (".", ".."):
        raise ValueError(f"{what} {name!r} must be a plain file name, without a path (no '/', '\\\\' or '..')")
    if name.startswith("."):
        raise ValueError(f"{what} {name!r} must not start with a dot")
    if len(name) > MAX_NAME or name != name.strip() or any(unicodedata.category(c).startswith("C") for c in name):
        raise ValueError(f"{what} {name!r} is not a usable file name (length, white space or control characters)")
    return name


@dataclass(frozen=True)
class Destination:
    """An upload destination: ``url`` None is the Plume server; else an fsspec URL (``file://`` included)."""

    url: str | None = None

    @property
    def is_server(self) -> bool:
        return self.url is None

    def target(self, model_id: str, version_id: str, filename: str) -> str:
        """The URI the file of version ``version_id`` is written to (not used for the server)."""
        if self.url is None:
            raise ValueError("the Plume server chooses its own URIs")
        return f"{self.url.rstrip('/')}/{model_id}/{version_id}/{filename}"


SERVER = Destination()


def _scheme_supported(scheme: str) -> bool:
    """Whether fsspec knows ``scheme`` and its package is installed (imports the filesystem class)."""
    try:
        import fsspec
    except ImportError:  # pragma: no cover - a dependency of the client
        return False
    try:
        fsspec.get_filesystem_class(scheme)
    except (ImportError, ValueError):
        return False
    return True


def destination_for(uri: str | os.PathLike[str] | None, server: str) -> Destination | None:
    """The destination ``uri`` names; None when its scheme is not supported.

    None, ``""`` and the server's own URL (``server``) name the Plume server; a plain path or a
    ``file://`` URL a folder on this machine; other URLs a filesystem fsspec can write to. Plain
    ``http(s)://`` URLs of other servers are not writable.
    """
    if uri is None or uri == "":
        return SERVER
    text = os.fspath(uri)
    if not isinstance(text, str):
        return None
    if text.rstrip("/") + "/" == server:
        return SERVER
    parts = urlsplit(text)
    if not parts.scheme or len(parts.scheme) == 1:  # a path (or a Windows drive letter)
        return Destination("file://" + Path(text).expanduser().resolve().as_posix())
    scheme = parts.scheme.lower()
    if scheme == "file":
        return Destination("file://" + posixpath.normpath(parts.path or "/"))
    if scheme in ("http", "https") or "://" not in text:
        return None
    return Destination(text) if _scheme_supported(scheme) else None


def local_path(uri: str) -> Path | None:
    """The local path of a ``file://`` URI (None for other URIs). Not percent-decoded, as fsspec does."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file":
        return None
    return Path(parts.path or "/")
