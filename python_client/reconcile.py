"""Bring the backend to the state of a run directory, idempotently (the sender's and ``plume sync``'s engine).

One :meth:`RunSync.step` makes sure that, on the backend,

1. the run document exists (created with the run's own ``_id``; named ``<basename>-<n>`` unless the
   backend already accepted it under its name, see :data:`~python_client.rundir.NAME_CONFIRMED`;
   the name is written to disk once the backend has the run);
2. every checkpoint and asset listed in the run exists (created with its own id after uploading
   its files; an id already on the backend is left alone);
3. the run document holds the run's data (patched only when it differs).

Because it compares states instead of replaying calls, the same step serves a connected run (called
after each change), a run whose backend went away (called again when it is back) and a run made
entirely offline (``plume sync``): all three end with the same documents, and a second sync sends
nothing. A checkpoint or asset that cannot be uploaded for a lasting reason (its file is gone, the
server refuses it with a 4xx, its conversion fails, a bug: :mod:`python_client.failures`) is
reported and skipped; other failures raise, and the caller sorts them (the sender retries passing
ones, and stops on lasting ones such as a 401 on the run itself).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import NotFound
from .failures import expected, lasting
from .ids import object_id
from .remote import SERVER_FIELDS, Remote, create_or_get, run_document
from .rundir import NAME_CONFIRMED, RunState, apply_run_name

log = logging.getLogger("python_client")
Progress = Callable[[str], None]


@dataclass
class SyncReport:
    """What one step sent."""

    created_run: bool = False
    patched_run: bool = False
    checkpoints: int = 0
    assets: int = 0
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.created_run or self.patched_run or bool(self.checkpoints or self.assets)


def _adopt(data: dict[str, Any], found: dict[str, Any]) -> None:
    """The run is on the backend already (``found``): take its id, and its name unless ours was confirmed."""
    data["_id"] = found["_id"]
    if found.get("name") and not (data.get("name") and data.get(NAME_CONFIRMED)):
        apply_run_name(data, found["name"])
    if data.get("name"):
        data[NAME_CONFIRMED] = True


def _canonical(doc: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in doc.items() if k not in ("_id", *SERVER_FIELDS)}, sort_keys=True)


def _holds(remote: dict[str, Any], doc: dict[str, Any]) -> bool:
    """Does the stored record already hold every field of ``doc``? (Fields the server adds, such as
    ``userId`` with authentication on, or a dashboard's own, do not count.)"""
    return all(k in remote and json.dumps(remote[k], sort_keys=True) == json.dumps(v, sort_keys=True)
               for k, v in doc.items())


class RunSync:
    """Keeps one run's documents in step with its :class:`RunState`; remembers what it confirmed."""

    def __init__(self, remote: Remote, state: RunState) -> None:
        self.remote = remote
        self.state = state
        self.run_confirmed = False
        self.confirmed: set[str] = set()
        self.skipped: dict[str, str] = {}  # item id -> why it was not uploaded
        self._skipped_labels: dict[str, str] = {}  # item id -> "checkpoint <name>" / "asset <filename>"
        self._remote_doc: dict[str, Any] | None = None
        self._sent: str | None = None

    def pending(self) -> int:
        """Checkpoints and assets not yet confirmed on the backend."""
        _, data = self.state.snapshot()
        items = [*data.get("checkpoints", []), *data.get("assets", [])]
        return sum(1 for i in items if i.get("id") not in self.confirmed and i.get("id") not in self.skipped)

    def skipped_items(self) -> list[str]:
        """What was not uploaded for a lasting reason, in words: ``["asset notes.txt (BadRequest: ...)"]``."""
        return [f"{self._skipped_labels.get(item_id, item_id)} ({reason})" for item_id, reason in self.skipped.items()]

    def step(self, progress: Progress | None = None) -> SyncReport:
        """One pass (see the module docstring). Raises on passing failures."""
        report = SyncReport()
        self._ensure_run(report)
        _, data = self.state.snapshot()
        for index, checkpoint in enumerate(data.get("checkpoints", [])):
            self._ensure_item("checkpoints", index, checkpoint, report, progress)
        for index, asset in enumerate(data.get("assets", [])):
            self._ensure_item("assets", index, asset, report, progress)
        self._patch(report)
        report.skipped = dict(self.skipped)
        return report

    # ------------------------------------------------------------------ the run
    def _ensure_run(self, report: SyncReport) -> None:
        if self.run_confirmed:
            return
        _, data = self.state.snapshot()
        run_id = data.get("_id")
        # A folder written by Marcelle's package has no id: its run is found by its start date.
        remote_doc = self.remote.get_run(run_id) if run_id else self.remote.retrieve_run(data["start"])
        if remote_doc is None:
            remote_doc = self._create_run()
            report.created_run = True
        else:
            found = remote_doc
            self.state.update(lambda d: _adopt(d, found))
        self._remote_doc = remote_doc
        self.remote.run_id = remote_doc["_id"]
        self.run_confirmed = True

    def _create_run(self) -> dict[str, Any]:
        """Create the run document; the name goes to disk, confirmed, only once the backend has it."""
        if not self.state.snapshot()[1].get("_id"):
            self.state.update(lambda d: d.__setitem__("_id", object_id()))
        _, data = self.state.snapshot()
        name = data.get("name")
        if not name or not data.get(NAME_CONFIRMED):
            name = self.remote.next_run_name(data["basename"])
        apply_run_name(data, name)
        data[NAME_CONFIRMED] = True
        created = create_or_get(self.remote.runs_service, {"_id": data["_id"], **run_document(data)})
        confirmed = created.get("name") or name  # an earlier attempt's, if that one reached the backend

        def confirm(d: dict[str, Any]) -> None:
            apply_run_name(d, confirmed)
            d[NAME_CONFIRMED] = True

        self.state.update(confirm)
        return created

    def _patch(self, report: SyncReport) -> None:
        _, data = self.state.snapshot()
        doc = run_document(data)
        key = _canonical(doc)
        if key == self._sent:
            return
        if self._remote_doc is not None and _holds(self._remote_doc, doc):
            self._sent = key  # the backend holds this already (a second sync)
            return
        self.remote.runs_service.patch(data["_id"], doc)
        self._sent = key
        self._remote_doc = None
        report.patched_run = True

    # ------------------------------------------------------------------ checkpoints and assets
    def _ensure_item(self, kind: str, index: int, item: dict[str, Any], report: SyncReport,
                     progress: Progress | None) -> None:
        item_id = item.get("id") or item.get("_id")
        if item_id in self.confirmed or item_id in self.skipped:
            return
        service = item.get("service") or (self.remote.models_service.path if kind == "checkpoints" else "assets")
        if not item_id:  # recorded by Marcelle's package while offline: give it an id now
            item_id = object_id()

            def set_id(d: dict[str, Any]) -> None:
                d[kind][index].update({"id": item_id, "service": service})

            self.state.update(set_id)
        label = item.get("name") or item.get("filename") or item_id
        try:
            self.remote.store.service(service).get(item_id)
            self.confirmed.add(item_id)
            if progress is not None:
                progress(str(label))
            return
        except NotFound:
            pass
        try:
            if kind == "checkpoints":
                self._upload_checkpoint(item, item_id, service)
                report.checkpoints += 1
            else:
                self._upload_asset(index, item, item_id)
                report.assets += 1
        except Exception as exc:
            if not lasting(exc):
                raise
            self.skipped[item_id] = f"{type(exc).__name__}: {exc}"
            self._skipped_labels[item_id] = f"{kind[:-1]} {label}"
            if expected(exc):
                log.warning("%s %s not uploaded: %s", kind[:-1], label, self.skipped[item_id])
            else:  # a bug (here or in a converter): its traceback is what explains it
                log.exception("%s %s not uploaded: %s", kind[:-1], label, self.skipped[item_id])
            return
        self.confirmed.add(item_id)
        if progress is not None:
            progress(str(label))

    def _upload_checkpoint(self, checkpoint: dict[str, Any], item_id: str, service: str) -> None:
        _, data = self.state.snapshot()
        meta = checkpoint.get("metadata") or {}
        path = self.state.resolve(str(meta.get("local_path", "")))
        self.remote.upload_model(path, meta.get("local_format", "h5"), meta, name=checkpoint.get("name"),
                                 record_id=item_id, run_id=data["_id"], save_format=service.removesuffix("-models"))

    def _upload_asset(self, index: int, asset: dict[str, Any], item_id: str) -> None:
        _, data = self.state.snapshot()
        path = self.state.resolve(str(asset.get("local_path", "")))
        metadata = {k: v for k, v in asset.items() if k not in ("id", "_id", "service", "url")}
        doc = self.remote.upload_asset(path, metadata, record_id=item_id, run_id=data["_id"])

        def record(d: dict[str, Any]) -> None:
            d["assets"][index].update({"url": doc.get("url"), "filename": doc.get("filename"),
                                       "extension": doc.get("extension"), "mime": doc.get("mime")})

        self.state.update(record)
