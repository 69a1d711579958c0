"""Runs and artifacts read back from the server into a fresh local folder.

A run comes with its hyperparameters, metrics (rebuilt from the server's points: one entry per
``log`` call, as the run logged them) and associations; an artifact with its objects, each file's
SHA-256 checked. The local copy records that the server holds it, so uploading it again sends
nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import local
from .folders import split_path

if TYPE_CHECKING:
    from ..datastore import DataStore
    from .artifact import Artifact
    from .run import Run

PAGE = 10_000


class ChecksumMismatch(ValueError):
    """A downloaded object's bytes do not have the SHA-256 its artifact records."""


def find_placed(store: DataStore, service: str, path: str) -> dict[str, Any] | None:
    """The record of ``service`` at server path ``/<user>/<folder>/<name>`` (or relative), or None."""
    folder, name = split_path(path)
    if not name:
        return None
    page = store.service(service).find({"query": {"folder": folder, "name": name, "$limit": 1}})
    data = page["data"] if isinstance(page, dict) else page
    return data[0] if data else None


def metrics_of(store: DataStore, run_id: str) -> dict[str, list[dict[str, Any]]]:
    """A run's metrics as ``Run.metrics``: ``{type: [{step, epoch, timestamp, metrics}]}``, one entry
    per (type, step, timestamp), in the order they were logged."""
    groups: dict[tuple[str, str, int], dict[str, Any]] = {}
    for point in store.service("metrics").items({"run": run_id}, page_size=PAGE):
        key = (point["type"], point.get("timestamp") or "", point["step"])
        entry = groups.get(key)
        if entry is None:
            entry = groups[key] = {"step": point["step"], "epoch": point.get("epoch"),
                                   "timestamp": point.get("timestamp"), "metrics": {}}
        entry["metrics"][point["key"]] = point["value"]
    out: dict[str, list[dict[str, Any]]] = {}
    for (kind, _, _), entry in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        out.setdefault(kind, []).append(entry)
    return out


def download_run(store: DataStore, doc: dict[str, Any]) -> Run:
    """The server's run ``doc`` in a new local folder."""
    from .placing import PLACED, UploadState, digest
    from .run import Run
    from .sync import run_document

    metadata = {k: doc.get(k) for k in ("name", "labels", "description", "start_timestamp", "end_timestamp",
                                        "status", "alternative_name", "associations")}
    metadata["id"] = doc["_id"]
    metadata["remote"] = [{"mode": "download", "server": store.location.rstrip("/"),
                           "path": f"{doc.get('folder')}/{doc.get('name')}", "timestamp": local.now_iso()}]
    run = Run(metadata, doc.get("hparams"), metrics_of(store, doc["_id"]), doc.get("platform"), doc.get("git"))
    state = UploadState.of_run(run, store.location)
    state.data.update(id=doc["_id"], folder=doc.get("folder"), name=doc.get("name"),
                      metrics_offset=(Path(run.local) / local.METRICS_FILE).stat().st_size,
                      sent=digest({k: v for k, v in run_document(run).items() if k not in PLACED}))
    state.save()
    return run


def download_artifact(store: DataStore, doc: dict[str, Any]) -> Artifact:
    """The server's artifact ``doc`` in a new local folder, each file checked against its SHA-256.

    Raises:
        ChecksumMismatch: a downloaded file is not what the artifact records (it is removed).
    """
    from .artifact import Artifact, sha256_of
    from .artifact_sync import artifact_document
    from .placing import UploadState, digest

    metadata = {k: doc.get(k) for k in ("name", "labels", "description", "created_timestamp", "alternative_name")}
    metadata["id"] = doc["_id"]
    metadata["remote"] = [{"mode": "download", "server": store.location.rstrip("/"),
                           "path": f"{doc.get('folder')}/{doc.get('name')}", "timestamp": local.now_iso()}]
    artifact = Artifact(metadata, doc.get("objects") or [])
    service = store.service("artifacts")
    for obj in artifact.objects:
        sha = obj.get("sha256")
        if not sha:
            continue
        target = artifact._target(str(obj["path"]))
        target.parent.mkdir(parents=True, exist_ok=True)
        if obj.get("size") == 0:
            target.write_bytes(b"")
        else:
            service.download(doc["_id"], sha, target)
        actual = sha256_of(target)
        if actual != sha:
            target.unlink()
            raise ChecksumMismatch(f"object {obj['path']!r} of artifact {doc.get('name')!r} arrived corrupted: "
                                   f"its SHA-256 is {actual}, the artifact records {sha}")
    state = UploadState(artifact.uploads, store.location, lambda every: artifact.save())
    state.data.update(id=doc["_id"], folder=doc.get("folder"), name=doc.get("name"),
                      files=sorted({o["sha256"] for o in artifact.objects if o.get("sha256")}),
                      sent=digest(artifact_document(artifact)))
    state.save()
    return artifact
