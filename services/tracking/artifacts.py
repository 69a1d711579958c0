"""``artifacts``: named sets of objects in folders, their files content-addressed in the blob store.

``POST /artifacts/upload`` (multipart) takes files whose field name is the SHA-256 of their bytes
(64 hex digits). Each is streamed to a scratch key, hashed, and refused (400, nothing kept) when
its bytes do not have that hash; otherwise it is stored at ``artifact-objects/<sha256>`` unless
the same bytes are there already (equal files are stored once). The reply is ``{sha256: {size}}``.

An artifact document lists ``objects``: ``{path, size, sha256}`` for files (which must have been
uploaded, by the caller when authentication is on: knowing a hash gives nobody its bytes) and
``{path, reference}`` for references. ``GET /artifacts/<id>/<sha256>`` serves one of its files to
whoever may read the document; its ``history`` (written by the server) lists the writes that set
its objects, ``{event: "upload", at, by}``, and the downloads, ``{event: "download", at, by, files,
last}`` (:mod:`.downloads`). Bytes no document names any more are deleted (unless
uploaded in the last hour: a document naming them may be on its way).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from typing import Any

from backend.app import App, ServiceHandle
from backend.auth.authorize import is_admin
from backend.errors import BadRequest, Conflict, Forbidden, NotFound
from backend.hooklib.timestamps import now_iso
from backend.hooks import HookContext, Params
from backend.query import And, Cmp, Query
from backend.storage.base import StorageAdapter
from backend.storage.blobs import BlobStore
from backend.uploads import Download
from services.files.cleanup import delete_keys
from services.files.config import UploadLimits
from services.files.transfer import REVALIDATE, blob_download, discard_folder, receive

from .downloads import DownloadHistory
from .paths import username_of

NAMESPACE = "artifact-objects"
SCRATCH = f"{NAMESPACE}-incoming"
SHA256 = re.compile(r"[0-9a-f]{64}")
UPLOADS, REFS = "_artifact_uploads", "_artifact_refs"
GRACE = 3600.0  # seconds during which freshly uploaded bytes are kept without a document
MAX_PATH = 1024
#: The SHA-256 of no bytes: an empty file is never uploaded (uploads refuse empty parts), nor stored.
EMPTY = hashlib.sha256(b"").hexdigest()


def object_key(sha: str) -> str:
    return f"{NAMESPACE}/{sha[:2]}/{sha}"


def check_object_path(path: Any, where: str) -> str:
    """A relative ``/``-separated object path that cannot leave its artifact; 400 naming ``where``."""
    ok = isinstance(path, str) and 0 < len(path) <= MAX_PATH and not path.startswith("/") and "\\" not in path
    if ok:
        parts = path.split("/")
        ok = (not any(p in ("", ".", "..") for p in parts) and not any(ord(c) < 32 for c in path)
              and not (len(parts[0]) > 1 and parts[0][1] == ":"))
    if not ok:
        raise BadRequest(f"{where}: {str(path)[:200]!r} is not a relative object path (no '..', no leading '/')",
                         errors={where: "invalid object path"})
    return path  # type: ignore[return-value]


def file_shas(doc: Mapping[str, Any]) -> set[str]:
    """The SHA-256 of each file object of an artifact document."""
    objects = doc.get("objects")
    return {o["sha256"] for o in objects if isinstance(o, dict) and isinstance(o.get("sha256"), str)} \
        if isinstance(objects, list) else set()


class ObjectStore:
    """The artifacts' bytes: uploads checked against their hash, who uploaded what, what refers to what."""

    def __init__(self, blobs: BlobStore, uploads: StorageAdapter, refs: StorageAdapter) -> None:
        self.blobs = blobs
        self.uploads = uploads
        self.refs = refs

    async def store(self, parts: AsyncIterator[Any], limits: UploadLimits, params: Params) -> dict[str, Any]:
        """Receive an upload (see the module docstring)."""
        stored = await receive(parts, self.blobs, SCRATCH, lambda field: True, limits)
        try:
            if not stored:
                raise BadRequest("No file in the upload: each part is a file whose field name is its SHA-256")
            reply: dict[str, Any] = {}
            for part in stored:
                if not SHA256.fullmatch(part.fieldname):
                    raise BadRequest(f"Field {part.fieldname[:100]!r} is not a SHA-256 (64 lowercase hex digits)")
                actual = await self._sha256(part.key)
                if actual != part.fieldname:
                    raise BadRequest(f"File {part.originalname!r} does not have the SHA-256 its field names "
                                     f"({part.fieldname}): its bytes hash to {actual}",
                                     errors={part.fieldname: "SHA-256 mismatch"})
                if await self.blobs.stat(object_key(actual)) is None:
                    await self.blobs.put(object_key(actual), self.blobs.open(part.key))
                await self._record(actual, params)
                reply[actual] = {"size": part.size}
            return reply
        finally:
            if stored:
                await discard_folder(self.blobs, SCRATCH, stored[0].folder)

    async def _sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        async for chunk in self.blobs.open(key):
            digest.update(chunk)
        return digest.hexdigest()

    async def _record(self, sha: str, params: Params) -> None:
        user = params.user
        holder = str(user.get("_id")) if isinstance(user, dict) else ""
        record = {"_id": f"{sha}:{holder}", "sha": sha, "userId": holder, "at": time.time()}
        try:
            await self.uploads._insert([record])
        except Conflict:
            await self.uploads._replace(record["_id"], record)

    async def check(self, doc: Mapping[str, Any], params: Params, auth_enabled: bool, already: set[str]) -> None:
        """400 for malformed objects or files never uploaded; 403 (authentication on) for files the
        caller did not upload and the document did not hold already."""
        objects = doc.get("objects")
        if objects is None:
            return
        if not isinstance(objects, list):
            raise BadRequest("objects must be a list", errors={"objects": "not a list"})
        seen: set[str] = set()
        for i, obj in enumerate(objects):
            where = f"objects.{i}"
            if not isinstance(obj, dict):
                raise BadRequest(f"{where} must be an object", errors={where: "not an object"})
            path = check_object_path(obj.get("path"), f"{where}.path")
            if path in seen:
                raise BadRequest(f"{where}: two objects have the path {path!r}", errors={where: "duplicate path"})
            seen.add(path)
            sha = obj.get("sha256")
            if ("reference" in obj) == (sha is not None):
                raise BadRequest(f"{where} is a file {{path, size, sha256}} or a reference {{path, reference}}",
                                 errors={where: "neither a file nor a reference"})
            if sha is None:
                continue
            if not isinstance(sha, str) or not SHA256.fullmatch(sha):
                raise BadRequest(f"{where}.sha256 must be 64 lowercase hex digits",
                                 errors={f"{where}.sha256": "invalid"})
            if sha == EMPTY:
                if obj.get("size") not in (None, 0):
                    raise BadRequest(f"{where}: an empty file has size 0", errors={f"{where}.size": "wrong size"})
                continue
            info = await self.blobs.stat(object_key(sha))
            if info is None:
                raise BadRequest(f"{where}: no file with SHA-256 {sha} was uploaded (POST /artifacts/upload first)",
                                 errors={f"{where}.sha256": "not uploaded"})
            if obj.get("size") is not None and obj.get("size") != info.size:
                raise BadRequest(f"{where}: the file with SHA-256 {sha} has {info.size} bytes, not {obj.get('size')}",
                                 errors={f"{where}.size": "wrong size"})
            if auth_enabled and not is_admin(params) and sha not in already:
                user = params.user
                holder = str(user.get("_id")) if isinstance(user, dict) else ""
                if not holder or await self.uploads._get_key(f"{sha}:{holder}") is None:
                    raise Forbidden(f"{where}: the file with SHA-256 {sha} is not one of your uploads")

    async def refer(self, artifact_id: str, shas: set[str]) -> None:
        """Record that artifact ``artifact_id`` names exactly ``shas``; free what it named before."""
        current = await self.refs._find(Query(where=Cmp(("artifact",), "$eq", artifact_id)))
        held = {r["sha"] for r in current}
        new = [{"_id": f"{sha}:{artifact_id}", "sha": sha, "artifact": artifact_id} for sha in shas - held]
        if new:
            try:
                await self.refs._insert(new)
            except Conflict:
                for record in new:
                    await self.refs._replace(record["_id"], record)
        dropped = held - shas
        if dropped:
            await self.refs._delete([f"{sha}:{artifact_id}" for sha in dropped])
            await self.collect(dropped)

    async def collect(self, shas: set[str]) -> None:
        """Delete the bytes of ``shas`` that no artifact names and nobody uploaded recently."""
        recent = time.time() - GRACE
        doomed = []
        for sha in shas:
            if await self.refs._count(Cmp(("sha",), "$eq", sha)):
                continue
            if await self.uploads._count(And((Cmp(("sha",), "$eq", sha), Cmp(("at",), "$gt", recent)))):
                continue
            doomed.append(object_key(sha))
        await delete_keys(self.blobs, doomed)


def artifact_hooks(app: App, objects: ObjectStore) -> dict[str, Any]:
    """The hook spec of ``artifacts``: objects checked, references kept, bytes collected."""

    async def checked(ctx: HookContext) -> None:
        items = ctx.data if isinstance(ctx.data, list) else [ctx.data]
        current = None
        if ctx.id is not None and ctx.method != "create":
            current = await ctx.service.store._get_key(ctx.service.store.key(ctx.id))
        already = file_shas(current) if current else set()
        for item in items:
            if not isinstance(item, dict):
                continue
            await objects.check(item, ctx.params, app.auth_enabled, already)
            # The upload history is the server's: one entry per write that sets the objects.
            history = list((current or {}).get("history") or [])
            if ctx.method == "create" or "objects" in item:
                history.append({"event": "upload", "at": now_iso(), "by": username_of(ctx.params)})
            item.pop("history", None)
            if history and (ctx.method != "patch" or "objects" in item):
                item["history"] = history

    async def referred(ctx: HookContext) -> None:
        id_field = ctx.service.store.id_field
        for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if isinstance(doc, dict) and (ctx.method == "create" or "objects" in (ctx.data or {})):
                await objects.refer(str(doc[id_field]), file_shas(doc))

    async def unreferred(ctx: HookContext) -> None:
        id_field = ctx.service.store.id_field
        for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if isinstance(doc, dict):
                await objects.refer(str(doc[id_field]), set())

    return {"before": {"create": [checked], "update": [checked], "patch": [checked]},
            "after": {"create": [referred], "update": [referred], "patch": [referred], "remove": [unreferred]}}


def make_download(objects: ObjectStore, handle: ServiceHandle) -> Any:
    """``download(docId, sha256, params)``: one file of an artifact the caller may read, counted in
    the artifact's history when its first byte is sent (:mod:`.downloads`)."""
    history = DownloadHistory(handle)

    async def download(id: Any, filename: Any, params: Params) -> Download:
        doc = await handle.get(id, replace(params, query={}))
        match = next((o for o in doc.get("objects") or []
                      if isinstance(o, dict) and o.get("sha256") == filename), None)
        if match is None:
            raise NotFound(f"Artifact '{id}' has no file with SHA-256 '{str(filename)[:100]}'")
        name = str(match["path"]).rsplit("/", 1)[-1]
        if filename == EMPTY:
            found = Download(filename=name, size=0, content_type="application/octet-stream", open=_nothing,
                             etag=EMPTY[:32], cache_control=REVALIDATE)
        else:
            found = await blob_download(objects.blobs, object_key(str(filename)), name, REVALIDATE)
        return replace(found, open=_counted(found.open, history, str(doc[handle.store.id_field]),
                                            username_of(params)))

    return download


def _counted(open: Callable[[int, int], AsyncIterator[bytes]], history: DownloadHistory, artifact_id: str,
             by: str) -> Callable[[int, int], AsyncIterator[bytes]]:
    """``open`` that records a download when a file is sent from its start (not for a HEAD, a 304, or
    a range resumed further on: those never open it from 0)."""

    async def counted(offset: int, length: int) -> AsyncIterator[bytes]:
        if offset == 0:
            await history.record(artifact_id, by)
        async for chunk in open(offset, length):
            yield chunk

    return counted


async def _nothing(offset: int, length: int) -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator of no chunks
