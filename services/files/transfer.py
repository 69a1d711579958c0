"""Stream multipart parts into the blob store, and serve stored blobs as downloads.

Nothing is buffered whole: each part goes chunk by chunk into ``BlobStore.put`` with what is left
of the request's size budget. Any failure (bad name, empty file, size limit, truncated body, client
gone) removes every file already written for the upload, so a rejected upload leaves nothing.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from backend.errors import BadRequest, NotFound, PayloadTooLarge
from backend.storage.base import new_id
from backend.storage.blobs import BlobStore, BlobTooLarge
from backend.uploads import Download, UploadPart

from .config import UploadLimits
from .names import blob_key, check_name

CHUNK = 1024 * 1024  # bytes asked of a part at a time: fewer, larger hops to the blob store's thread
# mimetypes has no entry (or an old one) for these; browsers and TF.js want these values.
_TYPES = {".onnx": "application/octet-stream", ".bin": "application/octet-stream", ".wav": "audio/wav",
          ".keras": "application/zip", ".h5": "application/x-hdf5", ".json": "application/json"}
#: Files whose URL names their upload folder never change: cache them for good.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Files reached through a document (whose ``files`` may be replaced): always revalidate (ETag → 304).
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class StoredFile:
    """One accepted part of an upload, now in the blob store."""

    originalname: str  # the part's file name, as the client sent it
    fieldname: str  # the part's field name: the stored file's name
    folder: str  # the upload's fresh 24-hex folder id
    key: str  # the blob key (``<namespace>/<folder>/<fieldname>``)
    size: int
    sha256: str  # of the stored bytes (the blob store's content hash)

    @property
    def ref(self) -> str:
        """The client-visible ``"<folderid>/<fieldname>"``."""
        return f"{self.folder}/{self.fieldname}"


def content_type(filename: str) -> str:
    """The Content-Type to serve ``filename`` with (``application/octet-stream`` when unknown)."""
    dot = filename.rfind(".")
    ext = filename[dot:].lower() if dot >= 0 else ""
    return _TYPES.get(ext) or mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"


async def _chunks(part: UploadPart) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


async def discard_folder(blobs: BlobStore, namespace: str, folder: str) -> None:
    """Delete every file of one upload folder (shielded: it must finish even if the request is cancelled)."""
    await asyncio.shield(blobs.delete_prefix(f"{namespace}/{folder}"))


async def receive(
    parts: AsyncIterator[UploadPart],
    blobs: BlobStore,
    namespace: str,
    accept: Callable[[str], bool],
    limits: UploadLimits,
    folder: str | None = None,
) -> list[StoredFile]:
    """Store the file parts whose field name ``accept`` allows, in a fresh folder (or ``folder``,
    which the caller chose and checked); return them.

    Parts without a file name (plain form fields) and refused field names are skipped. Raises
    400 for an unsafe field or file name, a duplicate field or an empty file, 413 when the files
    together pass ``limits.max_size`` bytes or the request has more than ``limits.max_parts``
    parts; nothing of the upload is kept then.
    """
    folder = folder or new_id()
    stored: list[StoredFile] = []
    total = count = 0
    max_size = limits.max_size
    try:
        async for part in parts:
            count += 1
            if count > limits.max_parts:
                raise PayloadTooLarge(f"Upload has more than {limits.max_parts} parts ([uploads] max_parts)")
            if not part.filename:
                continue  # not a file (browsers also send filename="" for an empty file input)
            field = check_name(part.name, "field name")
            if not accept(field):
                continue
            original = check_name(part.filename, "file name")
            # Case-insensitive: on a case-insensitive disk (macOS, Windows) "A.png" would overwrite "a.png".
            if any(f.fieldname.casefold() == field.casefold() for f in stored):
                raise BadRequest(f"Field {field!r} appears twice in the upload")
            key = blob_key(namespace, folder, field)
            try:
                info = await blobs.put(key, _chunks(part), max_size=max(0, max_size - total))
            except BlobTooLarge:
                raise PayloadTooLarge(f"Upload is larger than the limit of {max_size} bytes") from None
            stored.append(StoredFile(original, field, folder, key, info.size, info.etag))
            if info.size == 0:
                raise BadRequest(f"File {original!r} (field {field!r}) is empty")
            total += info.size
    except BaseException:
        await discard_folder(blobs, namespace, folder)
        raise
    return stored


async def blob_download(blobs: BlobStore, key: str, filename: str, cache_control: str) -> Download:
    """A :class:`Download` of blob ``key`` served as ``filename``; 404 when it is not stored."""
    info = await blobs.stat(key)
    if info is None:
        raise NotFound(f"File '{filename}' not found")

    def open_range(offset: int, length: int) -> AsyncIterator[bytes]:
        return blobs.open(key, offset, length)

    return Download(filename=filename, size=info.size, content_type=content_type(filename), open=open_range,
                    etag=info.etag, last_modified=info.modified, cache_control=cache_control)
