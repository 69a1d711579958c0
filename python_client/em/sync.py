"""Bring a server to the state of a local run or artifact, idempotently.

A run's upload state is kept per server in its ``upload.json`` (:mod:`python_client.em.local`):
the server's record of the run (id, folder, name), how many bytes of ``metrics.jsonl`` reached it,
and a digest of the fields last sent. A pass (:meth:`RunUpload.step`)

1. creates the run in its folder, applying the conflict strategy, once;
2. sends the metric lines written since, in batches, as they are in the file with the run's id
   added (no parsing: the sender shares the training process's interpreter); the server expands
   each line into one point per metric and keeps one point per ``(run, type, key, step)``, with an
   id made from those four, so a batch sent twice (after a lost answer) stores nothing twice;
3. patches the run's fields when they changed (the server appends associations rather than
   replacing them, so that the registry's are kept);
4. uploads the artifacts the run is associated with that this server does not have yet.

So the background sender (``auto_upload``), ``Run.upload`` and ``em.upload`` share one engine: a
run that reached the server partly is completed, and a second upload sends nothing at all.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..datastore import DataStore
from ..exchange import Request
from ..query import encode_query
from ..retry import RetryPolicy
from . import checks, local
from .artifact import Artifact
from .artifact_sync import ArtifactUpload
from .folders import ensure_folder
from .placing import PLACED, UploadState, create_placed, digest

if TYPE_CHECKING:
    from .run import Run

#: Points per ``create`` at most (the server takes 10,000 by default: [tracking] max_points).
BATCH_POINTS = 5000
READ_BYTES = 256 * 1024  # bytes of metrics.jsonl read at a time
#: Seconds between two passes of the background sender at least: it shares the training
#: process's interpreter, so it sends a few large batches rather than many small ones.
MIN_INTERVAL = 0.25
LINE_FIELDS = 5  # "type", "step", "epoch", "timestamp", "metrics": the '":' of a line that are no metric
#: The sender's calls: few quick retries (it retries whole passes itself, with back-off).
SENDER_RETRY = RetryPolicy(attempts=2, backoff=0.05, max_backoff=0.1)
#: The answer to the sender's creates: ids only (the server's events still carry whole points).
IDS_ONLY = encode_query({"$select": ["_id"]})


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


class RunUpload:
    """Uploads one run to one server (see the module docstring)."""

    def __init__(self, run: Run, store: DataStore, folder: str = "default", make_folder: bool = False,
                 conflict_strategy: str = "new", *, min_interval: float = 0.0) -> None:
        self.run = run
        self.store = store
        self.folder = folder
        self.make_folder = make_folder
        self.conflict_strategy = checks.conflict_strategy(conflict_strategy)
        self.min_interval = min_interval
        self._last = 0.0
        #: Set once the run's place on the server is settled (created, found, or skipped).
        self.placed = threading.Event()

    def step(self) -> None:
        """One pass; raises the client's error when it could not finish (it resumes where it stopped).

        With ``min_interval`` (the background sender's), a pass starts that long after the previous
        one at the earliest, so that what was logged meanwhile goes in one batch.
        """
        wait = self._last + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()
        with self.run.upload_lock:
            state = UploadState.of_run(self.run, self.store.location)
            if not self._ensure_run(state):
                return
            self._send_metrics(state)
            self._patch(state)
            self._upload_artifacts(state)

    # ------------------------------------------------------------------ the run
    def _ensure_run(self, state: UploadState) -> bool:
        """True when the run is on the server (False: skipped by ``conflict_strategy="skip"``)."""
        if state.data.get("skipped"):
            self.placed.set()
            return False
        if state.data.get("id"):
            self.placed.set()
            return True
        folder = ensure_folder(self.store, self.folder, self.make_folder)
        runs = self.store.service("runs")
        doc = {"_id": self.run._id, **run_document(self.run), "folder": folder}
        created = self._create(runs, doc, state)
        if created is None:
            self.placed.set()
            return False
        state.data.update(id=created["_id"], folder=created.get("folder", folder), name=created.get("name"),
                          metrics_offset=0, sent=None)
        state.save()
        self.run.remote.append({"mode": "upload", "server": state.location,
                                "path": f"{state.data['folder']}/{state.data['name']}", "timestamp": local.now_iso()})
        self.run._changed()
        self.placed.set()
        return True

    def _create(self, service: Any, doc: dict[str, Any], state: UploadState) -> dict[str, Any] | None:
        """Create ``doc`` under the conflict strategy; None when skipped."""
        return create_placed(service, doc, self.conflict_strategy, self.run.alternative_name, state)

    # ------------------------------------------------------------------ metrics
    def _send_metrics(self, state: UploadState) -> None:
        path = Path(self.run.local) / local.METRICS_FILE
        prefix = ('{"run":' + json.dumps(state.data["id"]) + ",").encode()
        while True:
            offset = int(state.data.get("metrics_offset") or 0)
            lines, end = local.read_raw(path, offset, READ_BYTES)
            if not lines:
                return
            batch: list[bytes] = []
            points = 0
            for line in lines:
                # At most one point per '":' past the line's own fields (a name holding '":' only
                # makes the count high): batches stay within the server's points per create.
                count = line.count(b'":') - LINE_FIELDS
                if batch and points + count > BATCH_POINTS:
                    self._post(batch)
                    batch, points = [], 0
                batch.append(prefix + line[1:])
                points += count
            self._post(batch)
            state.data["metrics_offset"] = end
            state.save()

    def _post(self, entries: list[bytes]) -> None:
        """``create`` on ``metrics`` with log lines as JSON (repeatable: the server upserts)."""
        body = b"[" + b",".join(entries) + b"]"
        self.store.http.send(Request("POST", "metrics", repeatable=True, query=IDS_ONLY, body=body), _ignore_body)

    def _patch(self, state: UploadState) -> None:
        doc = {k: v for k, v in run_document(self.run).items() if k not in PLACED}
        sent = digest(doc)
        if sent == state.data.get("sent"):
            return
        self.store.service("runs").patch(state.data["id"], doc)
        state.data["sent"] = sent
        state.save()

    def _upload_artifacts(self, state: UploadState) -> None:
        for folder in self.run.artifact_dirs().values():
            if not Path(folder).exists():
                continue
            artifact = Artifact.open(folder)
            ArtifactUpload(artifact, self.store, state.data["folder"], False, self.conflict_strategy).run()


def _ignore_body(request: Request, response: Any) -> int:
    """Read an answer without decoding it (the points written: the sender has them already)."""
    return len(response.content)
