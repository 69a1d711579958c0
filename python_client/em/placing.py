"""What runs and artifacts share when they are uploaded: their upload state per server, the digest
of what was sent, and the creation of a record in a folder under a conflict strategy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, NotFound
from . import local

if TYPE_CHECKING:
    from .run import Run

#: Fields of a run or artifact set when it is created and never patched (it keeps its place).
PLACED = ("name", "folder")


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
