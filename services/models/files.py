"""Model files (README: "Models, assets and server-side conversion"): which upload fields a model type
takes, its upload reply, downloads.

A model document lists its files as pairs ``[originalname, "<folderid>/<fieldname>"]``; the file is
served at ``GET /<type>-models/<docId>/<originalname>``, so TF.js finds the weight shards that
``model.json`` names beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from backend.app import ServiceHandle
from backend.errors import BadRequest, NotFound
from backend.hooks import HookContext, Params
from backend.storage.blobs import BlobStore
from backend.uploads import Download
from services.files.config import UploadLimits
from services.files.names import blob_key, parse_ref
from services.files.ownership import UploadOwners, current_refs
from services.files.transfer import REVALIDATE, StoredFile, blob_download, discard_folder, receive

from .checks import check_for, problem

Accept = Callable[[str], bool]
IN_MEMORY = 1024 * 1024  # bytes of an upload checked from memory; a larger one from a scratch copy


def accept_tfjs(field: str) -> bool:
    """TF.js layers/graph model files: ``model.json``, ``model.weights.bin`` and ``*shard*.bin``."""
    return field in ("model.json", "model.weights.bin") or ("shard" in field and field.endswith(".bin"))


def accept_onnx(field: str) -> bool:
    """ONNX models: ``*.onnx``."""
    return field.lower().endswith(".onnx")


def accept_keras(field: str) -> bool:
    """Native Keras models: ``*.keras`` (Keras 3 or tf-keras zip) and ``*.h5`` (HDF5)."""
    return field.lower().endswith((".keras", ".h5"))


ACCEPT: dict[str, tuple[Accept, str]] = {
    "tfjs-models": (accept_tfjs, "model.json, model.weights.bin or *shard*.bin"),
    "onnx-models": (accept_onnx, "*.onnx"),
    "keras-models": (accept_keras, "*.keras or *.h5"),
}


def file_pairs(doc: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(originalname, folderid, fieldname)`` of each well-formed entry of ``doc["files"]``."""
    out = []
    files = doc.get("files")
    for pair in files if isinstance(files, list) else []:
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str):
            ref = parse_ref(pair[1])
            if ref is not None:
                out.append((pair[0], *ref))
    return out


def keys_of(namespace: str) -> Callable[[Mapping[str, Any]], set[str]]:
    """The blob keys a model document of ``namespace`` refers to."""
    return lambda doc: {blob_key(namespace, folder, name) for _, folder, name in file_pairs(doc)}


def _folders(doc: Mapping[str, Any]) -> list[str]:
    return [folder for _, folder, _ in file_pairs(doc)]


def check_files_hook(blobs: BlobStore, namespace: str,
                     owners: UploadOwners | None = None) -> Callable[[HookContext], Any]:
    """Before create/update/patch: each ``files`` entry must name a file uploaded to this service
    (with authentication on, uploaded by the caller: see :mod:`services.files.ownership`)."""

    async def hook(ctx: HookContext) -> None:
        items = ctx.data if isinstance(ctx.data, list) else [ctx.data]
        for item in items:
            if not isinstance(item, dict) or "files" not in item:
                continue
            files = item["files"]
            if not isinstance(files, list):
                raise BadRequest("files must be a list of [originalname, '<folderid>/<fieldname>'] pairs")
            for i, pair in enumerate(files):
                ok = isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and pair[0]
                ref = parse_ref(pair[1]) if ok else None
                if ref is None:
                    raise BadRequest(f"files[{i}] must be [originalname, '<folderid>/<fieldname>'], got {pair!r}",
                                     errors={f"files.{i}": "malformed file entry"})
                if await blobs.stat(blob_key(namespace, *ref)) is None:
                    raise BadRequest(f"files[{i}]: '{pair[1]}' was not uploaded to /{namespace}/upload",
                                     errors={f"files.{i}": "unknown file"})
            if owners is not None:
                await owners.check(namespace, _folders(item), ctx.params, await current_refs(ctx, _folders))

    return hook


@contextlib.asynccontextmanager
async def _readable(blobs: BlobStore, stored: StoredFile, scratch: Path) -> AsyncIterator[BinaryIO]:
    """The stored file, seekable: in memory when small, else a scratch copy (removed afterwards)."""
    if stored.size <= IN_MEMORY:
        yield io.BytesIO(b"".join([chunk async for chunk in blobs.open(stored.key)]))
        return
    await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
    copy = await asyncio.to_thread(tempfile.TemporaryFile, dir=scratch)
    try:
        async for chunk in blobs.open(stored.key):
            await asyncio.to_thread(copy.write, chunk)
        yield copy
    finally:
        await asyncio.to_thread(copy.close)


async def check_upload(blobs: BlobStore, files: list[StoredFile], scratch: Path) -> None:
    """400 naming the first stored file that is not the model its field name says (see :mod:`.checks`).

    The checks run in a thread: a file may be as large as the upload limit.
    """
    for stored in files:
        if check_for(stored.fieldname) is None:
            continue
        async with _readable(blobs, stored, scratch) as handle:
            why = await asyncio.to_thread(problem, stored.fieldname, handle, stored.size)
        if why is not None:
            raise BadRequest(f"File {stored.originalname!r} (field {stored.fieldname!r}) {why}",
                             errors={stored.fieldname: why})


def make_upload(blobs: BlobStore, namespace: str, limits: UploadLimits, scratch: Path,
                owners: UploadOwners | None = None) -> Callable[..., Any]:
    """``upload(parts, params)`` → ``[[originalname, "<folderid>/<fieldname>"], ...]``; 400 if no
    file is accepted, or one is not the model its field name says (then nothing is kept).
    ``scratch`` holds copies of large files while they are checked."""
    accept, what = ACCEPT[namespace]

    async def upload(parts: Any, params: Params) -> list[list[str]]:
        stored = await receive(parts, blobs, namespace, accept, limits)
        if not stored:
            raise BadRequest(f"No model file in the upload: the field name must be {what}")
        try:
            await check_upload(blobs, stored, scratch)
        except BaseException:
            await discard_folder(blobs, namespace, stored[0].folder)
            raise
        if owners is not None:
            await owners.record(namespace, stored[0].folder, params)
        return [[f.originalname, f.ref] for f in stored]

    return upload


def make_download(blobs: BlobStore, namespace: str, handle: ServiceHandle) -> Callable[..., Any]:
    """``download(docId, filename, params)``: the document's file whose original name is ``filename``."""

    async def download(id: Any, filename: Any, params: Params) -> Download:
        # Read the document through the service (its hooks decide who may see it), without $select.
        doc = await handle.get(id, replace(params, query={}))
        pairs = file_pairs(doc)
        match = next((p for p in pairs if p[0] == filename), None) or next(
            (p for p in pairs if p[2] == filename), None)
        if match is None:
            raise NotFound(f"Model '{id}' has no file '{filename}'")
        return await blob_download(blobs, blob_key(namespace, match[1], match[2]), match[0], REVALIDATE)

    return download
