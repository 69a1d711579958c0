"""Moving weights files: to and from the Plume server over the client's HTTP machinery, and to and
from fsspec URLs. Every transfer streams (files are never read whole), computes the file's SHA-256
on the way, and shows a tqdm progress bar for files of :data:`PROGRESS_MIN` bytes or more.

Server transfers go through :meth:`python_client.http.HttpClient.send`, so they get its retries: an
upload is repeatable (the server stores it under the version's id, so a repeat replaces the
first), and a download that breaks off resumes where it stopped (``Range``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..auth import Credentials
from ..errors import PlumeError
from ..exchange import Request
from ..http import HttpClient
from ..multipart import FilePart, MultipartBody

CHUNK = 1024 * 1024
PROGRESS_MIN = 4 * 1024 * 1024  # bytes from which transfers show a progress bar
VERSIONS = "model-versions"


class WeightsMismatch(PlumeError, ValueError):
    """A downloaded file is not the one the version recorded (size or SHA-256 differ)."""


def progress(total: int | None, desc: str) -> tqdm:
    """A byte progress bar, shown only for transfers of :data:`PROGRESS_MIN` bytes or more."""
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
                disable=total is None or total < PROGRESS_MIN)


class _ProgressBody(MultipartBody):
    """A multipart body that counts its bytes on a fresh progress bar at each attempt."""

    def __init__(self, parts: list[FilePart], desc: str) -> None:
        super().__init__(parts)
        self.desc = desc

    def __iter__(self) -> Iterator[bytes]:
        with progress(len(self), self.desc) as bar:
            for chunk in super().__iter__():
                bar.update(len(chunk))
                yield chunk


@dataclass(frozen=True)
class _UploadRequest(Request):
    """``POST /model-versions/upload?version=<id>`` with one streamed file (see the module doc)."""

    stream: _ProgressBody | None = None

    def headers(self, credentials: Credentials) -> dict[str, str]:
        headers = credentials.headers()
        if self.stream is not None:
            headers["Content-Type"] = self.stream.content_type
        return headers


def upload_to_server(http: HttpClient, version_id: str, path: Path, filename: str) -> dict[str, Any]:
    """Upload ``path`` as the weights of version ``version_id``: the server's ``{ref, sha256, size}``."""
    body = _ProgressBody([FilePart(filename, path, filename)], f"upload {filename}")
    request = _UploadRequest("POST", f"{VERSIONS}/upload", repeatable=True, query=f"version={version_id}",
                             body=body, stream=body)  # type: ignore[arg-type]  # the body streams
    return http.send(request)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _ResumingGet(Request):
    """A ``GET`` that asks for what ``part`` lacks (``Range``), at each attempt."""

    part: Path = field(default_factory=Path)

    def headers(self, credentials: Credentials) -> dict[str, str]:
        headers = credentials.headers()
        have = self.part.stat().st_size if self.part.exists() else 0
        if have:
            headers["Range"] = f"bytes={have}-"
        return headers


def _hash_file(path: Path, digest: Any) -> None:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)


def download_from_server(http: HttpClient, version_id: str, filename: str, dest: Path,
                         size: int | None, sha256: str | None) -> Path:
    """Download the stored weights of a version to ``dest`` (via ``dest.part``, resumed if present),
    hashing the bytes as they arrive; WeightsMismatch when they are not the version's."""
    from urllib.parse import quote

    part = dest.with_name(dest.name + ".part")
    path = f"{VERSIONS}/{quote(version_id, safe='')}/{quote(filename, safe='')}"
    hashed = [hashlib.sha256()]  # the digest of what ``part`` holds (an attempt starts a new one)
    if size is not None and part.exists() and part.stat().st_size >= size:
        _hash_file(part, hashed[0])  # whole already (a previous call stopped after the last byte)
    else:
        request = _ResumingGet("GET", path, repeatable=True, part=part)

        def save(_: Request, resp: Any) -> None:
            resumed = resp.status_code == 206
            digest = hashed[0] = hashlib.sha256()
            have = 0
            if resumed:
                _hash_file(part, digest)
                have = part.stat().st_size
            total = have + int(resp.headers.get("Content-Length") or 0) if size is None else size
            with part.open("ab" if resumed else "wb") as f, progress(total, f"download {filename}") as bar:
                bar.update(have)
                for chunk in resp.iter_content(CHUNK):
                    digest.update(chunk)
                    f.write(chunk)
                    bar.update(len(chunk))

        http.send(request, save)
    _verify(part, size, sha256, hashed[0].hexdigest())
    part.replace(dest)
    return dest


def _verify(path: Path, size: int | None, sha256: str | None, actual_sha256: str) -> None:
    """WeightsMismatch (and ``path`` removed) unless the file has the recorded size and SHA-256."""
    actual = path.stat().st_size
    problem = None
    if size is not None and actual != size:
        problem = f"{actual} bytes instead of {size}"
    elif sha256 is not None and actual_sha256 != sha256:
        problem = f"SHA-256 {actual_sha256} instead of {sha256}"
    if problem is not None:
        path.unlink(missing_ok=True)
        raise WeightsMismatch(f"the weights file downloaded is not the version's: {problem}")


def check_file(path: Path, size: int | None, sha256: str | None) -> None:
    """WeightsMismatch (and ``path`` removed) unless the file has the recorded size and SHA-256."""
    digest = hashlib.sha256()
    if sha256 is not None:
        _hash_file(path, digest)
    _verify(path, size, sha256, digest.hexdigest())


def copy_with_digest(read: Callable[[int], bytes], write: Callable[[bytes], Any], total: int | None,
                     desc: str) -> tuple[str, int]:
    """Copy a stream chunk by chunk; its ``(sha256, size)``."""
    digest, size = hashlib.sha256(), 0
    with progress(total, desc) as bar:
        while chunk := read(CHUNK):
            digest.update(chunk)
            write(chunk)
            size += len(chunk)
            bar.update(len(chunk))
    return digest.hexdigest(), size


def upload_to_url(path: Path, target: str) -> tuple[str, int]:
    """Write ``path`` to the fsspec URL ``target`` (``file://`` through a temporary name, renamed
    once whole); its ``(sha256, size)``. A repeat writes the same target again."""
    import fsspec

    fs, target_path = fsspec.core.url_to_fs(target)
    parent = target_path.rsplit("/", 1)[0]
    if parent:
        fs.makedirs(parent, exist_ok=True)
    local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))
    written = target_path + ".part" if local else target_path
    total = path.stat().st_size
    with path.open("rb") as src, fs.open(written, "wb") as out:
        result = copy_with_digest(src.read, out.write, total, f"upload {path.name}")
    if local:
        fs.mv(written, target_path)
    return result


def download_from_url(uri: str, dest: Path, size: int | None, sha256: str | None) -> Path:
    """Copy the fsspec URL ``uri`` to ``dest`` (via ``dest.part``), checked against the recorded file."""
    import fsspec

    part = dest.with_name(dest.name + ".part")
    with fsspec.open(uri, "rb") as src, part.open("wb") as out:
        copy_with_digest(src.read, out.write, size, f"download {dest.name}")
    check_file(part, size, sha256)
    part.replace(dest)
    return dest


def file_digest(path: str | os.PathLike[str]) -> tuple[str, int]:
    """``(sha256, size)`` of a local file."""
    digest = hashlib.sha256()
    _hash_file(Path(path), digest)
    return digest.hexdigest(), Path(path).stat().st_size
