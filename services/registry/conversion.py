"""Keras weights stored by the registry get their TF.js and ONNX forms from the existing conversion stack.

When a version's weights are a ``.keras``/``.h5`` file stored by Plume and its model's ``convert``
lists formats, the registry copies the file into a new ``keras-models`` document (the blob is
copied, streamed, so that the version's file stays immutable whatever happens to that document)
whose ``metadata.registry`` names the model and the version. The
:class:`~services.models.conversion.ConversionManager` converts it as any Keras upload; each of its
``keras-models patched`` events is mirrored into the version's ``conversions`` (``{tfjs: {status,
modelId}, onnx: ...}``), and the version records the document as ``keras``. The results are plain
``tfjs-models``/``onnx-models`` documents (``source``: the keras document, ``metadata.registry``
as above). Removing a version removes its keras document and the results.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from backend.app import App
from backend.errors import FeathersError, NotFound
from backend.hooks import HookContext, Params
from backend.storage.base import new_id
from backend.storage.blobs import BlobStore
from services.files.names import blob_key, parse_ref
from services.models.conversion import OUTPUT_SERVICE
from services.models.files import accept_keras

from .weights import NAMESPACE

log = logging.getLogger(__name__)
KERAS = "keras-models"
PROGRESS_KEYS = ("status", "modelId", "error")


def _progress(conversions: Any) -> dict[str, Any]:
    """The clients' view of a keras document's ``conversions`` (without the converter's bookkeeping)."""
    if not isinstance(conversions, dict):
        return {}
    return {t: {k: v[k] for k in PROGRESS_KEYS if k in v} for t, v in conversions.items() if isinstance(v, dict)}


class RegistryConversions:
    """Starts the conversion of Keras versions and mirrors its progress on them."""

    def __init__(self, app: App, blobs: BlobStore, default_convert: tuple[str, ...]) -> None:
        self.app = app
        self.blobs = blobs
        self.default_convert = default_convert

    async def start(self, version: dict[str, Any]) -> None:
        """After a version is stored: hand its Keras file to the conversion service, when asked for.

        A failure here is logged and leaves the version without conversions: the weights are stored.
        """
        ref = parse_ref(version.get("ref"))
        if ref is None or not accept_keras(ref[1]) or KERAS not in self.app.services:
            return
        models = self.app.service("models")
        model = await models.store._get_key(str(version["model"]))
        convert = (model or {}).get("convert", list(self.default_convert))
        if not model or not convert:
            return
        folder, key = new_id(), ""
        try:
            key = blob_key(KERAS, folder, ref[1])
            await self.blobs.put(key, self.blobs.open(blob_key(NAMESPACE, *ref)))
            doc: dict[str, Any] = {
                "name": model.get("name"), "format": "keras", "convert": list(convert),
                "files": [[ref[1], f"{folder}/{ref[1]}"]],
                "metadata": {"registry": {"model": model["_id"], "version": version["_id"],
                                          "number": version.get("version")}, "labels": model.get("labels")},
            }
            for field in (self.app.owner_field, "public"):  # the results belong to the model's owner
                if field and field in model:
                    doc[field] = model[field]
            created = await self.app.service(KERAS).create(doc)
            await self.app.service(NAMESPACE).patch(
                version["_id"], {"keras": created["_id"], "conversions": _progress(created.get("conversions"))})
        except Exception:
            log.exception("could not start the conversion of version %s of model %s", version.get("_id"),
                          version.get("model"))
            if key:
                await self.blobs.delete(key)

    async def mirror(self, record: Any, ctx: HookContext) -> None:
        """A ``keras-models patched`` listener: copy the progress onto the version it converts."""
        meta = record.get("metadata") if isinstance(record, dict) else None
        registry = meta.get("registry") if isinstance(meta, dict) else None
        if not isinstance(registry, dict) or not isinstance(registry.get("version"), str):
            return
        try:
            await self.app.service(NAMESPACE).patch(registry["version"],
                                                    {"conversions": _progress(record.get("conversions"))})
        except NotFound:
            pass  # the version went with its model

    async def drop(self, version: dict[str, Any]) -> None:
        """After a version is removed: its keras document and the converted models go too."""
        keras_id = version.get("keras")
        if not isinstance(keras_id, str):
            return
        for service in (*OUTPUT_SERVICE.values(), KERAS):
            if service not in self.app.services:
                continue
            handle = self.app.service(service)
            query = {"source": keras_id} if service != KERAS else {"_id": keras_id}
            try:
                for doc in await handle.store.find(Params(query=query, extra={"paginate": False})):
                    await handle.remove(doc["_id"])
            except FeathersError:
                log.exception("could not remove the %s of version %s", service, version.get("_id"))


def removed_versions(hook: Callable[[dict[str, Any]], Awaitable[None]]) -> Callable[[HookContext], Awaitable[None]]:
    """An after-remove hook calling ``hook(version)`` for each removed version."""

    async def after(ctx: HookContext) -> None:
        for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if isinstance(doc, dict):
                await hook(doc)

    return after
