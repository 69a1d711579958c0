"""Bring a server to the state of a local run or artifact, idempotently.

A run's upload state is kept per server in its ``upload.json`` (:mod:`python_client.em.local`):
the server's record of the run (id, folder, name), how many bytes of ``metrics.jsonl`` reached it,
and a digest of the fields last sent. A pass (:meth:`RunUpload.step`)

1. creates the run in its folder, applying the conflict strategy, once;
2. sends the metric lines written since, as points, in batches (the server keeps one point per
   ``(run, type, key, step)``, with an id made from those four: a batch sent twice, after a lost
   answer, stores nothing twice);
3. patches the run's fields when they changed (the server appends associations rather than
   replacing them, so that the registry's are kept);
4. uploads the artifacts the run is associated with that this server does not have yet.

So the background sender (``auto_upload``), ``Run.upload`` and ``em.upload`` share one engine: a
run that reached the server partly is completed, and a second upload sends nothing at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..datastore import DataStore
from ..errors import Conflict, NotFound
from ..multipart import FilePart
from ..retry import RetryPolicy
from . import checks, local
from .folders import ensure_folder

if TYPE_CHECKING:
    from .artifact import Artifact
    from .run import Run

#: Points per ``create`` (about 150 bytes each: well under the server's body limit).
BATCH_POINTS = 5000
READ_BYTES = 512 * 1024  # bytes of metrics.jsonl read per batch
FILES_PER_REQUEST = 32
#: The sender's calls: few quick retries (it retries whole passes itself, with back-off).
SENDER_RETRY = RetryPolicy(attempts=2, backoff=0.05, max_backoff=0.1)
#: Fields of a run set when it is created and never patched (a run keeps its place).
PLACED = ("name", "folder")


def sender_store(store: DataStore) -> DataStore:
    """A DataStore for a background sender: the same server and credentials as ``store``, with
    the sender's retry policy."""
    own = DataStore(store.location, store.credentials.api_key, timeout=store.http.timeout, retry=SENDER_RETRY)
    own.credentials.set_token(store.access_token)
    return own


def run_document(run: Run) -> dict[str, Any]:
    """The run's fields on the server (without its id)."""
    record = run.record()
    doc = {k: record[k] for k in ("name", "labels", "description", "start_timestamp", "end_timestamp", "status",
                                  "alternative_name", "associations", "hparams", "platform", "git")}
    doc["source"] = "em"
    return doc


def artifact_document(a: Artifact) -> dict[str, Any]:
    """The artifact's fields on the server (without its id and folder)."""
    return {"name": a.name, "labels": a.labels, "description": a.description,
            "created_timestamp": a.created_timestamp, "alternative_name": a.alternative_name,
            "objects": [dict(o) for o in a.objects]}


def digest(doc: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class UploadState:
    """One resource's upload state for one server (``data``), within the map of every server's
    (``every``), which ``write`` saves."""

    def __init__(self, every: dict[str, Any], location: str, write: Callable[[dict[str, Any]], None]) -> None:
        self.location = location.rstrip("/")
        self.every = every
        self.data: dict[str, Any] = dict(every.get(self.location) or {})
        self._write = write

    @classmethod
    def of_run(cls, run: Run, location: str) -> UploadState:
        """The state kept in the run's ``upload.json``."""
        path = Path(run.local) / local.UPLOAD_FILE
        every = local.read_json(path) if path.exists() else {}
        return cls(every if isinstance(every, dict) else {}, location, lambda data: local.write_json(path, data))

    def save(self) -> None:
        self.every[self.location] = self.data
        self._write(self.every)


class RunUpload:
    """Uploads one run to one server (see the module docstring)."""

    def __init__(self, run: Run, store: DataStore, folder: str = "default", make_folder: bool = False,
                 conflict_strategy: str = "new") -> None:
        self.run = run
        self.store = store
        self.folder = folder
        self.make_folder = make_folder
        self.conflict_strategy = checks.conflict_strategy(conflict_strategy)

    def step(self) -> None:
        """One pass; raises the client's error when it could not finish (it resumes where it stopped)."""
        with self.run.upload_lock:
            state = UploadState.of_run(self.run, self.store.location)
            if not self._ensure_run(state):
                return
            self._send_metrics(state)
            self._patch(state)
            self._upload_artifacts(state)

    def ensure_created(self) -> None:
        """Make sure the server has the run (its metrics may follow later)."""
        with self.run.upload_lock:
            self._ensure_run(UploadState.of_run(self.run, self.store.location))

    # ------------------------------------------------------------------ the run
    def _ensure_run(self, state: UploadState) -> bool:
        """True when the run is on the server (False: skipped by ``conflict_strategy="skip"``)."""
        if state.data.get("skipped"):
            return False
        if state.data.get("id"):
            return True
        folder = ensure_folder(self.store, self.folder, self.make_folder)
        runs = self.store.service("runs")
        doc = {"_id": self.run._id, **run_document(self.run), "folder": folder}
        created = self._create(runs, doc, state)
        if created is None:
            return False
        state.data.update(id=created["_id"], folder=created.get("folder", folder), name=created.get("name"),
                          metrics_offset=0, sent=None)
        state.save()
        self.run.remote.append({"mode": "upload", "server": state.location,
                                "path": f"{state.data['folder']}/{state.data['name']}", "timestamp": local.now_iso()})
        self.run._changed()
        return True

    def _create(self, service: Any, doc: dict[str, Any], state: UploadState) -> dict[str, Any] | None:
        """Create ``doc`` under the conflict strategy; None when skipped."""
        return create_placed(service, doc, self.conflict_strategy, self.run.alternative_name, state)

    # ------------------------------------------------------------------ metrics
    def _send_metrics(self, state: UploadState) -> None:
        path = Path(self.run.local) / local.METRICS_FILE
        metrics = self.store.service("metrics")
        run_id = state.data["id"]
        while True:
            offset = int(state.data.get("metrics_offset") or 0)
            lines, end = local.read_lines(path, offset, READ_BYTES)
            if not lines:
                return
            points = [{"run": run_id, "type": line["type"], "key": key, "step": line["step"], "epoch": line["epoch"],
                       "value": value, "timestamp": line["timestamp"]}
                      for line in lines for key, value in line["metrics"].items()]
            for start in range(0, len(points), BATCH_POINTS):
                metrics.create(points[start:start + BATCH_POINTS])
            state.data["metrics_offset"] = end
            state.save()

    def _patch(self, state: UploadState) -> None:
        doc = {k: v for k, v in run_document(self.run).items() if k not in PLACED}
        sent = digest(doc)
        if sent == state.data.get("sent"):
            return
        self.store.service("runs").patch(state.data["id"], doc)
        state.data["sent"] = sent
        state.save()

    def _upload_artifacts(self, state: UploadState) -> None:
        from .artifact import Artifact

        for folder in self.run.artifact_dirs().values():
            if not Path(folder).exists():
                continue
            artifact = Artifact.open(folder)
            ArtifactUpload(artifact, self.store, state.data["folder"], False, self.conflict_strategy).run()


def create_placed(service: Any, doc: dict[str, Any], strategy: str, alternative: str,
                  state: UploadState) -> dict[str, Any] | None:
    """Create ``doc`` (a run or artifact with its ``_id``, ``folder`` and ``name``), applying the
    conflict strategy when its folder holds a namesake; None when skipped (recorded in ``state``).

    A create whose id is taken is the repeat of one that reached the server: the stored record.
    """
    try:
        return service.create(doc)  # type: ignore[no-any-return]
    except Conflict:
        mine = _get(service, doc["_id"])
        if mine is not None:
            return mine
        if strategy == "skip":
            state.data["skipped"] = True
            state.save()
            return None
        if strategy == "error":
            raise Conflict(f"{service.path} already has {doc['name']!r} in {doc['folder']}: "
                           "conflict_strategy='error'") from None
        if strategy == "new":
            return service.create({**doc, "name": alternative})  # type: ignore[no-any-return]
        page = service.find({"query": {"folder": doc["folder"], "name": doc["name"], "$limit": 1}})
        for old in page["data"] if isinstance(page, dict) else page:
            service.remove(old["_id"])
        return service.create(doc)  # type: ignore[no-any-return]


def _get(service: Any, id: str) -> dict[str, Any] | None:
    try:
        return service.get(id)  # type: ignore[no-any-return]
    except NotFound:
        return None


class ArtifactUpload:
    """Uploads one artifact to one server: the bytes of its files (each once), then its document."""

    def __init__(self, artifact: Artifact, store: DataStore, folder: str = "default", make_folder: bool = False,
                 conflict_strategy: str = "new") -> None:
        self.artifact = artifact
        self.store = store
        self.folder = folder
        self.make_folder = make_folder
        self.conflict_strategy = checks.conflict_strategy(conflict_strategy)

    def run(self) -> None:
        """Upload (nothing when this server has the artifact as it is)."""
        artifact = self.artifact
        with artifact.upload_lock:
            state = UploadState(artifact.uploads, self.store.location, lambda every: artifact.save())
            if state.data.get("skipped"):
                return
            service = self.store.service("artifacts")
            doc = artifact_document(artifact)
            if state.data.get("id") and state.data.get("sent") == digest(doc):
                return
            folder = state.data.get("folder") or ensure_folder(self.store, self.folder, self.make_folder)
            self._send_files(service, state)
            if not state.data.get("id"):
                created = create_placed(service, {"_id": artifact.id, **doc, "folder": folder}, self.conflict_strategy,
                                        artifact.alternative_name, state)
                if created is None:
                    return
                state.data.update(id=created["_id"], folder=created.get("folder"), name=created.get("name"))
                artifact.remote.append({"mode": "upload", "server": state.location,
                                        "path": f"{created.get('folder')}/{created.get('name')}",
                                        "timestamp": local.now_iso()})
            else:
                service.patch(state.data["id"], {k: v for k, v in doc.items() if k not in PLACED})
            state.data["sent"] = digest(doc)
            state.save()

    def _send_files(self, service: Any, state: UploadState) -> None:
        sent = set(state.data.get("files") or [])
        parts, seen = [], set()
        for obj in self.artifact.objects:
            sha = obj.get("sha256")
            if not sha or sha in sent or sha in seen:
                continue
            seen.add(sha)
            parts.append(FilePart.of(self.artifact.object_file(obj), field=sha, filename=Path(obj["path"]).name))
        for start in range(0, len(parts), FILES_PER_REQUEST):
            batch = parts[start:start + FILES_PER_REQUEST]
            service.upload(batch)
            sent.update(p.field for p in batch)
            state.data["files"] = sorted(sent)
            state.save()
