"""Bring a server to the state of a local artifact: the bytes of its files (each once per server),
then its document (see :mod:`python_client.em.sync` for runs)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..datastore import DataStore
from ..multipart import FilePart
from . import checks, local
from .folders import ensure_folder
from .placing import PLACED, UploadState, create_placed, digest

if TYPE_CHECKING:
    from .artifact import Artifact

FILES_PER_REQUEST = 32


def artifact_document(a: Artifact) -> dict[str, Any]:
    """The artifact's fields on the server (without its id and folder)."""
    return {"name": a.name, "labels": a.labels, "description": a.description,
            "created_timestamp": a.created_timestamp, "alternative_name": a.alternative_name,
            "objects": [dict(o) for o in a.objects]}


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
            if not sha or sha in sent or sha in seen or not obj.get("size"):
                continue  # empty files are not uploaded: every server knows the bytes of nothing
            seen.add(sha)
            parts.append(FilePart.of(self.artifact.object_file(obj), field=sha, filename=Path(obj["path"]).name))
        for start in range(0, len(parts), FILES_PER_REQUEST):
            batch = parts[start:start + FILES_PER_REQUEST]
            service.upload(batch)
            sent.update(p.field for p in batch)
            state.data["files"] = sorted(sent)
            state.save()
