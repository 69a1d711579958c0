"""Weights files Plume stores: ``POST /model-versions/upload?version=<id>`` and
``GET /model-versions/<id>/<filename>``.

An upload names the id its version will be created with, and its one file goes to the blob key
``model-versions/<id>/<filename>``: a repeated upload (a client retrying after a lost answer)
replaces the first instead of leaving a second copy, which is what makes the client's retries
safe. The file streams into the blob store chunk by chunk (never whole in memory) while its SHA-256
is computed; the digest, size and uploader are kept in an internal table until the version is
created from them (:class:`Uploads`). Once the version exists, its folder takes no more uploads:
versions are immutable. Uploads never made a version (a client that gave up) are deleted at the
next start once a day old.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from backend.app import App, ServiceHandle
from backend.auth.authorize import is_admin
from backend.auth.stores import internal_adapter
from backend.errors import BadRequest, Conflict, Forbidden, NotFound
from backend.hooklib.timestamps import iso_at, now_iso
from backend.hooks import Params
from backend.query import Cmp, Query
from backend.storage.base import StorageAdapter
from backend.storage.blobs import BlobStore
from backend.uploads import Download, UploadPart
from services.files.config import UploadLimits
from services.files.names import FOLDER_ID, blob_key, parse_ref
from services.files.transfer import REVALIDATE, blob_download, discard_folder, receive

NAMESPACE = "model-versions"
TABLE = "_registry_uploads"
MAX_PARTS = 16  # one weights file, plus whatever form fields a client adds
STALE_UPLOAD = 24 * 3600.0  # seconds after which an upload never made a version is deleted (at start)


def file_uri(version_id: str, filename: str) -> str:
    """The server-relative URL a stored weights file is served at."""
    return f"/{NAMESPACE}/{version_id}/{quote(filename, safe='')}"


def version_keys(doc: Any) -> set[str]:
    """The blob key a version document's ``ref`` names (none for weights stored elsewhere)."""
    ref = parse_ref(doc.get("ref")) if isinstance(doc, dict) else None
    return {blob_key(NAMESPACE, *ref)} if ref else set()


class Uploads:
    """Uploaded weights not yet made a version: ``{_id: <version id>, filename, sha256, size, userId}``."""

    def __init__(self, adapter: StorageAdapter, auth: bool) -> None:
        self.adapter = adapter
        self.auth = auth

    @classmethod
    async def create(cls, app: App) -> Uploads:
        return cls(await internal_adapter(app, TABLE), app.auth_enabled)

    async def check_owner(self, version_id: str, params: Params) -> dict[str, Any] | None:
        """The record of ``version_id`` (None when there is none); Forbidden when authentication is
        on and another user uploaded it (admins and the server's own calls may use anybody's)."""
        found = await self.adapter._get_key(version_id)
        if found is not None and self.auth and not is_admin(params):
            user = params.user or {}
            if found.get("userId") != user.get("_id"):
                raise Forbidden(f"The weights of version '{version_id}' were uploaded by another user")
        return found

    async def save(self, record: dict[str, Any]) -> None:
        if await self.adapter._get_key(record["_id"]) is None:
            try:
                await self.adapter._insert([record])
                return
            except Conflict:
                pass  # a concurrent attempt of the same upload: the last one wins
        await self.adapter._replace(record["_id"], record)

    async def forget(self, version_id: str) -> None:
        await self.adapter._delete([version_id])

    async def sweep(self, blobs: BlobStore, older_than: float) -> int:
        """Delete the uploads never made a version (their client gave up) that are older than
        ``older_than`` seconds, with their files; how many."""
        cutoff = iso_at(time.time() - older_than)
        stale = await self.adapter._find(Query(where=Cmp(("at",), "$lt", cutoff)))
        for record in stale:
            await discard_folder(blobs, NAMESPACE, str(record["_id"]))
            await self.forget(str(record["_id"]))
        return len(stale)


def make_upload(blobs: BlobStore, versions: ServiceHandle, uploads: Uploads,
                limits: UploadLimits) -> Callable[..., Any]:
    """``upload(parts, params)`` → ``{ref, filename, sha256, size}`` for ``?version=<id>``."""

    async def upload(parts: AsyncIterator[UploadPart], params: Params) -> dict[str, Any]:
        version_id = params.query.get("version")
        if not isinstance(version_id, str) or not FOLDER_ID.fullmatch(version_id):
            raise BadRequest("POST /model-versions/upload needs ?version=<24 hex digits>: the _id the version "
                             "will be created with", errors={"version": "missing or not 24 hex digits"})
        if await versions.store._get_key(version_id) is not None:
            raise Conflict(f"Version '{version_id}' exists: its weights cannot change")
        await uploads.check_owner(version_id, params)
        await discard_folder(blobs, NAMESPACE, version_id)  # an earlier attempt's file, whatever its name
        # The blob store hashes (SHA-256) what it stores: that digest is the version's.
        stored = await receive(parts, blobs, NAMESPACE, lambda _: True, limits, folder=version_id)
        if len(stored) != 1:
            await discard_folder(blobs, NAMESPACE, version_id)
            raise BadRequest(f"An upload of weights holds exactly one file, not {len(stored)}")
        (file,) = stored
        digest = file.sha256
        user = params.user or {}
        await uploads.save({"_id": version_id, "filename": file.fieldname, "sha256": digest, "size": file.size,
                            "userId": user.get("_id"), "at": now_iso()})
        return {"ref": file.ref, "filename": file.fieldname, "sha256": digest, "size": file.size}

    return upload


def make_download(blobs: BlobStore, versions: ServiceHandle) -> Callable[..., Any]:
    """``download(versionId, filename, params)``: the version's stored weights file."""

    async def download(id: Any, filename: Any, params: Params) -> Download:
        # Read through the service: its permission rules decide who may see the version.
        doc = await versions.get(id, replace(params, query={}))
        ref = parse_ref(doc.get("ref"))
        if ref is None:
            raise NotFound(f"The weights of version '{id}' are not stored by this server: they are at {doc.get('uri')}")
        if filename != ref[1]:
            raise NotFound(f"Version '{id}' has no file '{filename}' (its weights file is '{ref[1]}')")
        return await blob_download(blobs, blob_key(NAMESPACE, *ref), ref[1], REVALIDATE)

    return download
