"""What an endpoint's ``model`` names, and the ONNX bytes to serve for it.

``model`` is a document id or name, optionally prefixed by its service: ``onnx-models/<id>``,
``keras-models/<id or name>``, ``models/<id or name>``. Without a prefix the registry (``models``,
when its plugin is loaded), then ``onnx-models``, then ``keras-models`` are searched, by id first,
then by name (the latest document of that name).

Each service has a *source* function turning its document into a :class:`ModelSource`:

* ``onnx-models``: the document's ``.onnx`` file;
* ``keras-models``: its ONNX conversion's ``onnx-models`` document, waiting while the conversion
  is pending or running (the document's ``keras-models patched`` events wake the wait);
* ``models`` (the registry): the latest version's weights when they are an ``.onnx`` file Plume
  stores, or the ONNX conversion of the ``keras-models`` document converting a ``.keras``/``.h5``
  version. A registry with another layout plugs in by replacing ``SOURCES["models"]``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from backend.app import App
from backend.errors import BadRequest, NotFound
from backend.hooks import HookContext, Params
from backend.storage.blobs import BlobStore
from services.files.names import blob_key, parse_ref

from .predictions import labels_of

SERVICES = ("models", "onnx-models", "keras-models")
RECHECK = 2.0  # seconds between reads of a converting keras model (patches from other processes)


@dataclass(frozen=True)
class ModelSource:
    """The model an endpoint serves: where it came from, its ONNX bytes and its labels."""

    ref: str  # "<service>/<document id>" of the document the bytes come from
    onnx: bytes
    labels: list[str] | None


class ModelNotServable(Exception):
    """The model exists but cannot be served (no ONNX file, a failed conversion...)."""


class Resolver:
    """Finds models and reads their ONNX bytes (see the module docstring)."""

    def __init__(self, app: App, keras_wait: float) -> None:
        self.app = app
        self.keras_wait = keras_wait
        self._waiters: dict[str, set[asyncio.Event]] = {}
        if "keras-models" in app.services:
            app.service("keras-models").on("patched", self._keras_patched)

    def _keras_patched(self, record: Any, ctx: HookContext) -> None:
        for event in self._waiters.get(str(record.get("_id")) if isinstance(record, dict) else "", ()):
            event.set()

    async def find(self, model: Any, params: Params | None = None) -> tuple[str, dict[str, Any]]:
        """``(service, document)`` that ``model`` names, read with the caller's ``params`` (its
        permissions apply); NotFound when there is none, BadRequest for a malformed reference."""
        if not isinstance(model, str) or not model.strip():
            raise BadRequest("model must name a model: an id or name, optionally as '<service>/<id or name>'",
                             errors={"model": "expected a string"})
        prefix, _, rest = model.partition("/")
        services = [prefix] if prefix in SERVICES and rest else [s for s in SERVICES if s in self.app.services]
        ident = rest if prefix in SERVICES and rest else model
        if prefix in SERVICES and rest and prefix not in self.app.services:
            raise NotFound(f"model '{model}' not found: this server has no {prefix} service")
        for path in services:
            doc = await self._lookup(path, ident, params)
            if doc is not None:
                return path, doc
        raise NotFound(f"model '{model}' not found (looked in {', '.join(services)} by id and name)",
                       errors={"model": "not found"})

    async def _lookup(self, path: str, ident: str, params: Params | None) -> dict[str, Any] | None:
        handle = self.app.service(path)
        caller = replace(params, query={}) if params is not None else Params()
        try:
            return await handle.get(ident, caller)  # type: ignore[no-any-return]
        except NotFound:
            pass
        by_name = replace(caller, query={"name": ident, "$sort": {"createdAt": -1}, "$limit": 1})
        page = await handle.find(by_name)
        found = page["data"] if isinstance(page, dict) else page
        return found[0] if found else None

    async def precheck(self, path: str, doc: dict[str, Any]) -> str | None:
        """Why ``doc`` can be told at once never to serve (no .onnx file, no ONNX conversion, a
        registry model whose weights are neither), or None."""
        if path == "models":
            return await self._registry_precheck(doc)
        return _document_precheck(path, doc)

    async def _registry_precheck(self, doc: dict[str, Any]) -> str | None:
        try:
            version, ref, filename = await self._latest_weights(doc)
        except ModelNotServable as exc:
            return str(exc)
        if ref is not None and filename.endswith(".onnx"):
            return None
        if version.get("keras") and "keras-models" in self.app.services:
            try:
                keras_doc = await self.app.service("keras-models").get(version["keras"])
            except NotFound:
                return f"the Keras document converting {_registry_name(doc)} is gone"
            return _document_precheck("keras-models", keras_doc)
        return _not_onnx(doc, filename)

    async def source(self, model: str) -> ModelSource:
        """The ONNX bytes ``model`` serves (waits for a Keras conversion in progress)."""
        path, doc = await self.find(model)
        return await SOURCES[path](self, doc)

    # ------------------------------------------------------------------ sources
    async def read_blob(self, key: str) -> bytes:
        blobs = self.app.extensions.get(BlobStore)  # type: ignore[type-abstract]
        if await blobs.stat(key) is None:
            raise ModelNotServable(f"the model file {key} is missing from the file store")
        return b"".join([chunk async for chunk in blobs.open(key)])

    async def onnx_document(self, doc: dict[str, Any], labels: list[str] | None = None) -> ModelSource:
        files = doc.get("files") if isinstance(doc.get("files"), list) else []
        for pair in files:
            if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], str):
                ref = parse_ref(pair[1])
                if ref is not None and ref[1].lower().endswith(".onnx"):
                    onnx = await self.read_blob(blob_key("onnx-models", *ref))
                    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
                    return ModelSource(f"onnx-models/{doc['_id']}", onnx,
                                       labels or labels_of(metadata.get("labels")) or labels_of(doc.get("labels")))
        raise ModelNotServable(f"onnx-models {doc.get('_id')} has no .onnx file")

    async def keras_document(self, doc: dict[str, Any], labels: list[str] | None = None) -> ModelSource:
        """The ONNX conversion of a keras-models document, once it is done."""
        keras_id = str(doc["_id"])
        event = asyncio.Event()
        self._waiters.setdefault(keras_id, set()).add(event)
        deadline = time.monotonic() + self.keras_wait
        try:
            while True:
                entry = (doc.get("conversions") or {}).get("onnx")
                if not isinstance(entry, dict):
                    raise ModelNotServable(f"keras-models {keras_id} is not converted to ONNX "
                                           "(add \"onnx\" to its convert list)")
                if entry.get("status") == "done" and entry.get("modelId"):
                    onnx_doc = await self.app.service("onnx-models").get(entry["modelId"])
                    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
                    return await self.onnx_document(onnx_doc, labels or labels_of(metadata.get("labels")))
                if entry.get("status") == "error":
                    raise ModelNotServable(f"the ONNX conversion of keras-models {keras_id} failed: "
                                           f"{entry.get('error', 'unknown error')}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ModelNotServable(f"the ONNX conversion of keras-models {keras_id} did not finish "
                                           f"within {self.keras_wait:g} s")
                event.clear()
                try:
                    async with asyncio.timeout(min(left, RECHECK)):
                        await event.wait()
                except TimeoutError:
                    pass
                doc = await self.app.service("keras-models").get(keras_id)
        finally:
            waiting = self._waiters.get(keras_id, set())
            waiting.discard(event)
            if not waiting:
                self._waiters.pop(keras_id, None)

    async def _latest_weights(self, doc: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, str] | None, str]:
        """A registry model's latest version, its stored file's reference (None for weights stored
        elsewhere) and its file name (lower case); ModelNotServable when it has no weights."""
        version_id = doc.get("versionId")
        if not version_id or "model-versions" not in self.app.services:
            raise ModelNotServable(f"{_registry_name(doc)} has no weights yet")
        try:
            version = await self.app.service("model-versions").get(version_id)
        except NotFound:
            raise ModelNotServable(f"{_registry_name(doc)} has no weights yet (its version is being stored)") from None
        ref = parse_ref(version.get("ref")) if isinstance(version.get("ref"), str) else None
        filename = str(version.get("filename") or (ref[1] if ref else "")).lower()
        return version, ref, filename

    async def registry_document(self, doc: dict[str, Any]) -> ModelSource:
        """A registry model: its latest version's ONNX file, or its Keras file's ONNX conversion."""
        labels = labels_of(doc.get("labels"))
        version, ref, filename = await self._latest_weights(doc)
        if ref is not None and filename.endswith(".onnx"):
            return ModelSource(f"model-versions/{version['_id']}",
                               await self.read_blob(blob_key("model-versions", *ref)), labels)
        if version.get("keras"):
            keras_doc = await self.app.service("keras-models").get(version["keras"])
            return await self.keras_document(keras_doc, labels)
        raise ModelNotServable(_not_onnx(doc, filename))


def _registry_name(doc: dict[str, Any]) -> str:
    return f"registry model {doc.get('name') or doc.get('_id')}"


def _not_onnx(doc: dict[str, Any], filename: str) -> str:
    return (f"{_registry_name(doc)}: its latest version ({filename or 'no file'}) is neither an ONNX file "
            "Plume stores nor a Keras model converted to ONNX")


def _document_precheck(path: str, doc: dict[str, Any]) -> str | None:
    """Why an ``onnx-models``/``keras-models`` document cannot serve, from the document alone, or None."""
    if path == "onnx-models":
        files = doc.get("files") if isinstance(doc.get("files"), list) else []
        if not any(isinstance(p, list) and len(p) == 2 and str(p[1]).lower().endswith(".onnx") for p in files):
            return f"onnx-models {doc.get('_id')} has no .onnx file"
    if path == "keras-models":
        entry = (doc.get("conversions") or {}).get("onnx")
        if not isinstance(entry, dict):
            return f"keras-models {doc.get('_id')} is not converted to ONNX (add \"onnx\" to its convert list)"
        if entry.get("status") == "error":
            return f"the ONNX conversion of keras-models {doc.get('_id')} failed: {entry.get('error')}"
    return None

Source = Callable[[Resolver, dict[str, Any]], Awaitable[ModelSource]]
SOURCES: dict[str, Source] = {
    "onnx-models": lambda r, doc: r.onnx_document(doc),
    "keras-models": lambda r, doc: r.keras_document(doc),
    "models": lambda r, doc: r.registry_document(doc),
}
