"""Hooks of ``model-versions``: each create appends one immutable weights version to a model.

A version is created from an upload (``ref``: the server takes the file's SHA-256 and size from
what it stored) or from a URI (``uri``: weights stored elsewhere, recorded as given). Its number is
claimed on the model by a write conditional on the model's current ``version`` (retried when a
concurrent version came first), which also moves the model's ``uri`` — as the creator, through
the model's hooks: a caller who may not change the model may not add its versions, and a published
model refuses them (409). A version that then fails to be stored gives its number back.
Clients cannot update, patch or remove versions (405): they go with their model.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from backend.app import App, ServiceHandle
from backend.errors import BadRequest, Conflict, MethodNotAllowed, NotFound
from backend.hooks import HookContext, Params
from backend.storage.base import new_id
from services.files.names import FOLDER_ID, parse_ref, unsafe_reason

from .models import SERVER_WRITE, read_model
from .weights import Uploads, file_uri

CLAIMED = "registry_claimed"  # in Params.extra: (model id, number, the model's fields before)
ATTEMPTS = 50
#: Fields only the server writes (``sha256``/``size`` of an upload are the server's too: see _weights_of).
SERVER_FIELDS = ("version", "keras", "conversions")


def _filename_of(uri: str) -> str:
    name = posixpath.basename(unquote(urlsplit(uri).path).rstrip("/"))
    return name if name and unsafe_reason(name) is None else "weights"


def _check_uri(uri: Any) -> str:
    parts = urlsplit(uri) if isinstance(uri, str) else None
    if parts is None or not parts.scheme or "://" not in uri:
        raise BadRequest(f"uri must be an absolute URI such as file:///path or s3://bucket/key, got {uri!r}",
                         errors={"uri": "not an absolute URI"})
    return uri


async def _weights_of(ctx: HookContext, item: dict[str, Any], uploads: Uploads) -> None:
    """Fill ``uri``, ``filename``, ``sha256`` and ``size`` from the upload ``ref`` names, or check ``uri``."""
    if ("ref" in item) == ("uri" in item):
        raise BadRequest("A version names its weights with exactly one of ref (an upload) or uri",
                         errors={"ref": "ref or uri", "uri": "ref or uri"})
    if "uri" in item:
        item["uri"] = _check_uri(item["uri"])
        item.setdefault("filename", _filename_of(item["uri"]))
        for name in ("sha256", "size"):
            item.setdefault(name, None)
        return
    ref = parse_ref(item["ref"])
    if ref is None or ref[0] != item["_id"]:
        raise BadRequest("ref must be '<_id>/<filename>', as POST /model-versions/upload?version=<_id> replied",
                         errors={"ref": "not this version's upload"})
    upload = await uploads.check_owner(ref[0], ctx.params)
    if upload is None or upload.get("filename") != ref[1]:
        raise BadRequest(f"ref '{item['ref']}' names no upload: upload the weights first",
                         errors={"ref": "not uploaded"})
    item.update(uri=file_uri(*ref), filename=ref[1], sha256=upload["sha256"], size=upload["size"])


async def _claim(ctx: HookContext, models: ServiceHandle, model_id: str, version_id: str, uri: str) -> int:
    """Take the model's next version number and point the model at the new weights, as the caller."""
    for _ in range(ATTEMPTS):
        current = await read_model(ctx, model_id, lambda m: f"model: no model '{m}'")
        n = int(current.get("version") or 0) + 1
        params = Params(provider=ctx.params.provider, user=ctx.params.user,
                        authentication=ctx.params.authentication, connection=ctx.params.connection,
                        query={"version": current.get("version")}, extra={SERVER_WRITE: True})
        try:
            await models.patch(model_id, {"version": n, "uri": uri, "versionId": version_id}, params)
        except NotFound:
            again = await read_model(ctx, model_id, lambda m: f"model: no model '{m}'")
            if again.get("version") == current.get("version"):
                raise BadRequest(f"model: no model '{model_id}'", errors={"model": "unknown model"}) from None
            continue  # a concurrent version took the number: try the next one
        ctx.params.extra[CLAIMED] = (model_id, n, {k: current.get(k) for k in ("version", "uri", "versionId")})
        return n
    raise Conflict(f"Too many concurrent versions of model '{model_id}': try again")


def version_hooks(app: App, uploads: Uploads, after_stored: Callable[..., Any]) -> dict[str, Any]:
    """The hook spec of ``model-versions``; ``after_stored(version)`` runs after each create."""
    models = app.service("models")

    async def before_create(ctx: HookContext) -> None:
        item = ctx.data
        if isinstance(item, list):
            raise BadRequest("Create versions one at a time")
        if not isinstance(item, dict):
            return  # the adapter answers 400
        if ctx.params.provider is not None:
            for name in SERVER_FIELDS:
                item.pop(name, None)
        item["_id"] = item.get("_id") or new_id()
        if not isinstance(item["_id"], str) or not FOLDER_ID.fullmatch(item["_id"]):
            raise BadRequest("_id must be 24 hex digits", errors={"_id": "not 24 hex digits"})
        if await ctx.service.store._get_key(item["_id"]) is not None:
            raise Conflict(f"Version '{item['_id']}' exists")  # a repeated create: the client reads it back
        await _weights_of(ctx, item, uploads)
        item.setdefault("package", False)
        item.setdefault("iteration", None)
        item["version"] = await _claim(ctx, models, str(item["model"]), item["_id"], item["uri"])

    async def after_create(ctx: HookContext) -> None:
        ctx.params.extra.pop(CLAIMED, None)
        await uploads.forget(ctx.result["_id"])
        await after_stored(ctx.result)

    async def give_back(ctx: HookContext) -> None:
        """On a failed create after the number was claimed: point the model back (if nothing came since)."""
        claimed = ctx.params.extra.pop(CLAIMED, None)
        if claimed is None:
            return
        model_id, n, before = claimed
        try:
            await models.store.patch(model_id, before, Params(query={"version": n}))
        except NotFound:
            pass  # a later version came: the model points at it

    async def immutable(ctx: HookContext) -> None:
        if ctx.params.provider is not None:
            raise MethodNotAllowed("Model versions are immutable: they are removed with their model")

    return {
        "before": {"create": [before_create], "update": [immutable], "patch": [immutable], "remove": [immutable]},
        "after": {"create": [after_create]},
        "error": {"create": [give_back]},
    }
