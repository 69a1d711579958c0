"""``Remote``: a training run's documents on the backend (Marcelle's API): the run, its checkpoints, its assets.

Unlike Marcelle's, every method raises the typed error of a failure instead of printing it; the
:class:`~python_client.Writer` is what keeps training going when the backend is away.
Documents are created with client-chosen ids (:mod:`python_client.ids`), so a create that lost its
answer can be repeated without making a second record.
"""

from __future__ import annotations

import mimetypes
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import converted
from .datastore import DataStore
from .errors import Conflict, NotFound
from .ids import object_id
from .model_files import PreparedModel, prepare, remote_format, tfjs_parts
from .multipart import FilePart
from .retry import RetryPolicy
from .service import Service

#: Fields the server sets on every record: never part of what a run "is".
SERVER_FIELDS = ("createdAt", "updatedAt")
MODEL_SERVICES = ("tfjs-models", "onnx-models", "keras-models")


def run_document(run_data: dict[str, Any]) -> dict[str, Any]:
    """The run's fields as sent in a patch (no id, no server timestamps)."""
    return {k: v for k, v in run_data.items() if k not in ("_id", *SERVER_FIELDS)}


def create_or_get(service: Service, doc: dict[str, Any]) -> dict[str, Any]:
    """Create ``doc`` (which carries its ``_id``); if that id exists already, the stored record."""
    try:
        return service.create(doc)  # type: ignore[no-any-return]
    except Conflict:
        return service.get(doc["_id"])  # type: ignore[no-any-return]


class Remote:
    """Save a run's information and upload its checkpoints and assets to a backend.

    Args:
        backend_root: The backend's URL.
        save_format: How checkpoints are uploaded: ``"tfjs"`` or ``"onnx"`` (converted here),
            ``"keras"`` (the ``.h5``/``.keras`` file; the server converts it).
        source: The training framework (only ``"keras"`` is described).
        store: A DataStore to use instead of making one (its location wins over ``backend_root``).
        api_key, timeout, retry: For the DataStore made here.
    """

    def __init__(self, backend_root: str = "http://localhost:3030", save_format: str = "tfjs",
                 source: str = "keras", *, store: DataStore | None = None, api_key: str | None = None,
                 timeout: float = 10.0, retry: RetryPolicy | None = None) -> None:
        self.store = store or DataStore(backend_root, api_key, timeout=timeout, retry=retry)
        self.save_format = remote_format(save_format)
        self.source = source
        self.runs_service = self.store.service("runs")
        self.models_service = self.store.service(f"{save_format}-models")
        self.assets_service = self.store.service("assets")
        self.run_id: str | None = None

    # ------------------------------------------------------------------ runs
    def next_run_name(self, basename: str) -> str:
        """``<basename>-<n>`` with n one more than the highest ``<basename>-<k>`` stored."""
        pattern = re.compile(rf"^{re.escape(basename)}-(\d+)$")
        highest = 0
        for run in self.runs_service.items({"basename": basename, "$select": ["name"]}, page_size=1000):
            match = pattern.match(str(run.get("name", "")))
            if match:
                highest = max(highest, int(match.group(1)))
        return f"{basename}-{highest + 1}"

    def create(self, run_data: dict[str, Any]) -> dict[str, Any]:
        """Create the run document; sets ``run_data["_id"]`` and ``run_data["name"]`` when missing."""
        run_data.setdefault("_id", object_id())
        if not run_data.get("name"):
            run_data["name"] = self.next_run_name(run_data["basename"])
        created = create_or_get(self.runs_service, {"_id": run_data["_id"], **run_document(run_data)})
        self.run_id = created["_id"]
        return created

    def update(self, run_data: dict[str, Any]) -> Any:
        """Patch the run document with ``run_data``."""
        run_id = run_data.get("_id") or self.run_id
        if not run_id:
            raise ValueError("update() before create(): the run has no id")
        return self.runs_service.patch(run_id, run_document(run_data))

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """The run document ``run_id``, or None if the backend has none."""
        try:
            return self.runs_service.get(run_id)  # type: ignore[no-any-return]
        except NotFound:
            return None

    def retrieve_run(self, run_start_at: str) -> dict[str, Any] | None:
        """The most recently updated run of this source that started at ``run_start_at`` (or None)."""
        found = self.runs_service.find({"query": {"source": self.source, "start": run_start_at,
                                                  "$sort": {"updatedAt": -1}, "$limit": 1}})
        data = found["data"] if isinstance(found, dict) else found
        if not data:
            return None
        self.run_id = data[0]["_id"]
        return data[0]  # type: ignore[no-any-return]

    def remove_run(self, run_data: dict[str, Any]) -> bool:
        """Remove a run, its checkpoints (documents and files) and its assets; False if there was no run.

        Checkpoints and assets are found both from ``run_data`` and by their ``run`` field, and
        the TF.js/ONNX models the server converted from a ``keras-models`` checkpoint go with it.
        """
        run_id = run_data.get("_id") or self.run_id
        targets: list[tuple[str, str]] = []
        for checkpoint in run_data.get("checkpoints") or []:
            cid = checkpoint.get("id") or checkpoint.get("_id")
            if cid:
                targets.append((checkpoint.get("service") or self.models_service.path, cid))
        for asset in run_data.get("assets") or []:
            aid = asset.get("id") or asset.get("_id")
            if aid:
                targets.append(("assets", aid))
        if run_id:
            for path in (*MODEL_SERVICES, "assets"):
                targets += [(path, doc["_id"]) for doc in self.store.service(path).items({"run": run_id})]
        for path, doc_id in dict.fromkeys(targets):
            self._remove_quietly(path, doc_id)
            if path == "keras-models":
                for converted in ("tfjs-models", "onnx-models"):
                    for doc in list(self.store.service(converted).items({"source": doc_id})):
                        self._remove_quietly(converted, doc["_id"])
        if not run_id:
            return False
        removed = self._remove_quietly("runs", run_id)
        if run_id == self.run_id:
            self.run_id = None
        return removed

    def _remove_quietly(self, path: str, doc_id: str) -> bool:
        try:
            self.store.service(path).remove(doc_id)
            return True
        except NotFound:
            return False

    # ------------------------------------------------------------------ models
    def upload_model(self, path_to_model: str | Path, local_format: str = "h5", metadata: dict[str, Any] | None = None,
                     *, name: str | None = None, record_id: str | None = None, run_id: str | None = None,
                     save_format: str | None = None) -> dict[str, Any]:
        """Upload a model checkpoint in the remote format (converting it first for tfjs/onnx).

        Args:
            path_to_model: The saved model (``.h5``/``.keras`` file or SavedModel folder).
            local_format: ``"h5"``, ``"keras"`` or ``"saved_model"``.
            metadata: Stored as the document's ``metadata``.
            name: The document's ``name`` (the Writer uses ``<run>@<epoch>``).
            record_id: The document's id (a repeat with the same id creates nothing new).
            run_id: Stored as the document's ``run``, so that ``remove_run`` finds it.
            save_format: Overrides the Remote's ``save_format`` for this upload.

        Returns:
            The model document.
        """
        fmt = remote_format(save_format or self.save_format)
        work_dir = Path(tempfile.mkdtemp(prefix="plume-model-"))
        try:
            prepared = prepare(Path(path_to_model), local_format, fmt, work_dir)
            return self._create_model(prepared, fmt, metadata, name, record_id, run_id)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)

    def upload_tfjs_model(self, tmp_path: str | Path, metadata: dict[str, Any] | None = None, *,
                          name: str | None = None, record_id: str | None = None,
                          run_id: str | None = None) -> dict[str, Any]:
        """Upload a TF.js model folder (``model.json`` + ``*.bin``) to ``tfjs-models``."""
        prepared = PreparedModel(tfjs_parts(Path(tmp_path)), "tfjs")
        return self._create_model(prepared, "tfjs", metadata, name, record_id, run_id)

    def upload_onnx_model(self, tmp_path: str | Path, metadata: dict[str, Any] | None = None, *,
                          name: str | None = None, record_id: str | None = None,
                          run_id: str | None = None) -> dict[str, Any]:
        """Upload an ``.onnx`` file to ``onnx-models`` (``.onnx`` is added to the path when missing)."""
        path = Path(tmp_path)
        path = path if path.suffix == ".onnx" else path.with_name(path.name + ".onnx")
        return self._create_model(PreparedModel([FilePart.of(path)], "onnx"), "onnx", metadata, name, record_id,
                                  run_id)

    def upload_keras_model(self, path: str | Path, metadata: dict[str, Any] | None = None, *,
                           name: str | None = None, record_id: str | None = None,
                           run_id: str | None = None) -> dict[str, Any]:
        """Upload a ``.keras``/``.h5`` file to ``keras-models``: the server converts it to TF.js and ONNX."""
        p = Path(path)
        fmt = "keras" if p.suffix == ".keras" else "h5"
        return self._create_model(prepare(p, fmt, "keras", p.parent), "keras", metadata, name, record_id, run_id)

    def _create_model(self, prepared: PreparedModel, fmt: str, metadata: dict[str, Any] | None, name: str | None,
                      record_id: str | None, run_id: str | None) -> dict[str, Any]:
        service = self.store.service(f"{fmt}-models")
        files = service.upload(prepared.parts)
        doc: dict[str, Any] = {"_id": record_id or object_id(), "files": files, "format": prepared.format,
                               "metadata": {**(metadata or {}), **prepared.metadata}}
        if name:
            doc["name"] = name
        if run_id:
            doc["run"] = run_id
        return create_or_get(service, doc)

    # ------------------------------------------------------------------ server-side conversions
    def wait_for_conversion(self, doc_id: str, formats: Iterable[str] = converted.FORMATS,
                            timeout: float = 300.0) -> dict[str, Any]:
        """Wait until the server's conversions of ``keras-models`` document ``doc_id`` to ``formats`` end.

        Listens to ``keras-models patched`` events (and reads the document once, after subscribing,
        so that a conversion that ended before is not waited for).

        Returns:
            The document's ``conversions`` map: ``{"tfjs": {"status": "done", "modelId": ...}, ...}``.

        Raises:
            ConversionFailed: a requested conversion ended in ``error`` (its reason in the message).
            ConversionTimeout: they had not all ended after ``timeout`` seconds (they go on on the server).
            ValueError: an unknown format, or one the document did not ask for (``convert``).
        """
        formats = converted.checked_formats(formats)
        keras = self.store.service("keras-models")
        latest: dict[str, Any] = {}
        done = threading.Event()

        def patched(doc: dict[str, Any]) -> None:
            if isinstance(doc, dict) and doc.get("_id") == doc_id:
                latest["doc"] = doc
                if converted.ended(doc, formats):
                    done.set()

        keras.on("patched", patched)
        try:
            doc = keras.get(doc_id)
            converted.check_requested(doc, formats)
            if not converted.ended(doc, formats):
                if not done.wait(timeout):
                    raise converted.timed_out(latest.get("doc", doc), formats, timeout)
                doc = latest["doc"]
        finally:
            keras.off("patched", patched)
        return converted.outcome(doc, formats)

    def download_converted(self, doc_id: str, format: str, dest: str | Path) -> list[Path]:
        """Download the ``format`` model the server converted from ``keras-models`` ``doc_id`` into folder ``dest``.

        The folder is made if needed. Returns the files written, the model file first
        (``model.json`` then its weights for ``tfjs``, ``model.onnx`` for ``onnx``).

        Raises:
            NotFound: no such converted model (yet): :meth:`wait_for_conversion` first.
        """
        (fmt,) = converted.checked_formats((format,))
        service = self.store.service(f"{fmt}-models")
        found = service.find({"query": {"source": doc_id, "$sort": {"createdAt": -1}, "$limit": 1}})
        data = found["data"] if isinstance(found, dict) else found
        if not data:
            raise NotFound(f"no {fmt} model converted from keras-models {doc_id} (yet): "
                           f"wait_for_conversion({doc_id!r}) first")
        folder = Path(dest)
        folder.mkdir(parents=True, exist_ok=True)
        names = sorted((name for name, _ in data[0]["files"]), key=lambda name: not name.startswith("model."))
        return [service.download(data[0]["_id"], name, folder / name) for name in names]

    # ------------------------------------------------------------------ assets
    def upload_asset(self, path_to_asset: str | Path, metadata: dict[str, Any] | None = None, *,
                     record_id: str | None = None, run_id: str | None = None) -> dict[str, Any]:
        """Upload a file (image, sound...) and create its ``assets`` document.

        The file's name is its field name: its extension must be one the server accepts
        (``[assets] extensions``, by default jpg, jpeg, png, wav).
        """
        path = Path(path_to_asset)
        info = asset_info(path)
        reply = self.assets_service.upload([FilePart.of(path, content_type=info["mime"])])
        url = reply.get(path.name) if isinstance(reply, dict) else None
        if not isinstance(url, str):
            raise ValueError(f"the upload of {path.name} answered no reference: {reply!r}")
        doc = {"_id": record_id or object_id(), **(metadata or {}), **info, "url": url}
        if run_id:
            doc["run"] = run_id
        return create_or_get(self.assets_service, doc)

    def close(self) -> None:
        self.store.close()


def asset_info(path: Path) -> dict[str, str]:
    """``{filename, extension, mime}`` of an asset file (Marcelle's fields; the extension has its dot)."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {"filename": path.name, "extension": path.suffix, "mime": mime}
