"""``Artifact``: a set of files (and references) that a run takes as input or produces.

Objects are copied into the artifact's local folder at their object paths (the seed's rules: no
``obj_path`` keeps the source's name, a trailing ``/`` names a folder that receives it); each file
object records ``{path, size, sha256}``, each reference ``{path, reference}``. Uploading sends
each file's bytes once per server (the server stores equal bytes once) and then the document.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..ids import object_id
from . import checks, local

CHUNK = 1024 * 1024


class Artifact:
    """Implementation of Artifact, a set of files that a Run inputs or outputs.

    Args:
        metadata: ``name``, ``labels``, ``description`` and, for an artifact read back,
            ``created_timestamp``, ``alternative_name``, ``remote``, ``local`` and ``id``.
        objects: Its objects, as a list of object dicts or ``{path: object dict}``.

    ``id`` is its id on the server, chosen by the client when it is created (so that a run can
    name it before it is uploaded).
    """

    def __init__(self, metadata: Mapping[str, Any], objects: Any = None) -> None:
        meta = dict(metadata)
        self.name: str = checks.resource_name(meta.get("name"), "an artifact's name")
        self.labels: list[str] = checks.labels_list(meta.get("labels"))
        self.description: str = str(meta.get("description") or "")
        self.created_timestamp: str = meta.get("created_timestamp") or local.now_iso()
        self.alternative_name: str = meta.get("alternative_name") or local.alternative_name(self.name)
        self.remote: list[dict[str, Any]] = list(meta.get("remote") or [])
        self.id: str = str(meta.get("id") or object_id())
        if isinstance(objects, Mapping):
            objects = [{"path": path, **dict(obj)} for path, obj in objects.items()]
        self.objects: list[dict[str, Any]] = [dict(o) for o in objects or []]
        self.uploads: dict[str, Any] = dict(meta.get("uploads") or {})
        self.upload_lock = threading.RLock()
        if meta.get("local"):  # absolute: the script may change its working directory
            self.local = str(Path(meta["local"]).resolve())
        else:
            parent = local.parent_dir(local.ARTIFACT_PARENT_ENV, local.ARTIFACT_PARENT_DEFAULT)
            self.local = str(local.new_folder(parent, self.alternative_name).resolve())
        self.save()

    # ------------------------------------------------------------------ objects
    def add_file(self, file_path: str, obj_path: str | None = None) -> None:
        """Adds a local file as an object of the Artifact (copied to ``<local>/<object path>``)."""
        source = Path(file_path)
        if not source.is_file():
            raise FileNotFoundError(f"{file_path} is not a file")
        path = checks.join_object_path(obj_path, source.name)
        self._put(path, _copy(source, self._target(path)))
        self.save()

    def add_dir(self, dir_path: str, obj_path: str | None = None) -> None:
        """Adds all files under a local directory (nested ones too) as objects of the Artifact."""
        source = Path(dir_path)
        if not source.is_dir():
            raise NotADirectoryError(f"{dir_path} is not a directory")
        base = checks.join_object_path(obj_path, source.resolve().name)
        files = sorted(p for p in source.rglob("*") if p.is_file())
        paths = [checks.object_path(f"{base}/{f.relative_to(source).as_posix()}") for f in files]
        for file, path in zip(files, paths, strict=True):  # every path checked before any copy
            self._put(path, _copy(file, self._target(path)))
        self.save()

    def add_reference(self, uri: str, obj_path: str | None = None) -> None:
        """Adds a URI as an object reference to the Artifact (nothing is copied)."""
        parts = urlsplit(uri) if isinstance(uri, str) else None
        if parts is None or not parts.scheme:
            raise ValueError(f"a reference is a URI with a scheme (s3://..., https://...), got {uri!r}")
        source_name = Path(parts.path.rstrip("/")).name or parts.netloc
        self._put(checks.join_object_path(obj_path, source_name), {"reference": uri})
        self.save()

    def _target(self, path: str) -> Path:
        target = Path(self.local, *path.split("/"))
        root = Path(self.local).resolve()
        if root not in target.resolve().parents:  # a symlinked folder inside the artifact
            raise ValueError(f"object path {path!r} leaves the artifact's folder")
        return target

    def _put(self, path: str, info: dict[str, Any]) -> None:
        self.objects = [o for o in self.objects if o.get("path") != path]
        self.objects.append({"path": path, **info})
        self.objects.sort(key=lambda o: o["path"])

    def object_file(self, obj: Mapping[str, Any]) -> Path:
        """The local file of a file object."""
        return Path(self.local, *str(obj["path"]).split("/"))

    # ------------------------------------------------------------------ dicts and files
    def to_dict(self) -> dict[str, Any]:
        """Converts Artifact instance to a dict and returns it."""
        return {"id": self.id, "name": self.name, "labels": list(self.labels), "description": self.description,
                "created_timestamp": self.created_timestamp, "alternative_name": self.alternative_name,
                "objects": [dict(o) for o in self.objects], "remote": [dict(r) for r in self.remote],
                "local": self.local}

    def parse_from_dict(self, data: dict[str, Any]) -> None:
        """Parses an Artifact instance from a dict (as :meth:`to_dict` makes)."""
        for key in ("id", "name", "labels", "description", "created_timestamp", "alternative_name", "remote"):
            if key in data:
                setattr(self, key, data[key])
        if "objects" in data:
            self.objects = [dict(o) for o in data["objects"]]
        self.save()

    def save(self) -> None:
        """Write the artifact's metadata file."""
        record = {k: v for k, v in self.to_dict().items() if k != "local"}
        local.write_json(Path(self.local) / checks.ARTIFACT_FILE, {**record, "uploads": self.uploads})

    @classmethod
    def open(cls, folder: str | Path) -> Artifact:
        """The artifact kept in local ``folder`` (FileNotFoundError when it holds none)."""
        path = Path(folder) / checks.ARTIFACT_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{folder} is not an artifact folder (no {checks.ARTIFACT_FILE})")
        record = local.read_json(path)
        return cls({**record, "local": str(folder)}, record.get("objects"))

    # ------------------------------------------------------------------ uploads
    def upload(self, folder: str = "default", make_folder: bool = False, conflict_strategy: str = "new") -> None:
        """Uploads this Artifact to server (see :func:`python_client.em.upload` for the arguments)."""
        from ..default import default_store
        from .artifact_sync import ArtifactUpload

        ArtifactUpload(self, default_store(), folder, make_folder, conflict_strategy).run()

    def __repr__(self) -> str:
        return f"Artifact(name={self.name!r}, id={self.id!r}, local={self.local!r})"


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy(source: Path, target: Path) -> dict[str, Any]:
    """Copy ``source`` to ``target`` (unless it is the same file), hashing it on the way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and os.path.samefile(source, target):
        return {"size": target.stat().st_size, "sha256": sha256_of(target)}
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    shutil.copystat(source, target)
    return {"size": size, "sha256": digest.hexdigest()}
