"""``Run``: one run of a training script, kept in a local folder first and uploaded to the server.

Every call writes the run's files before it returns (:mod:`python_client.em.local`); with
``auto_upload`` a background sender (:class:`python_client.sender.BackgroundSender`, the Writer's)
keeps the server up to date in batches, and a slow or dead server never blocks nor fails the script.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..ids import object_id
from ..sender import BackgroundSender
from ..utils import conform_dict
from . import checks, local
from .associations import association_of
from .params import Params

if TYPE_CHECKING:
    from ..datastore import DataStore
    from .sync import RunUpload

log = logging.getLogger("python_client")
#: Seconds a script that ends with part of its run not on the server waits for it at exit.
EXIT_TIMEOUT = 30.0
#: Seconds the first read of ``Run.id`` waits at most, with ``auto_upload``, for the run to reach the
#: server (the sender's first pass creates it; a healthy server takes milliseconds).
ID_WAIT = 2.0
_METADATA = ("name", "labels", "description", "start_timestamp", "end_timestamp", "status", "alternative_name")


class Run:
    """Implementation of Run, a run of a specific model for certain ML task.

    Made by :func:`python_client.em.create_run` or :func:`~python_client.em.load_run`; the
    constructor makes a new local folder (``metadata["local"]`` absent) with the metrics given.

    ``id`` is the run's id on the server. The client chooses it when the run is created, so it is
    known at once, offline too, and the run keeps it when it is uploaded later (``em.upload``).
    With ``auto_upload`` on, the first read waits a little (``ID_WAIT`` seconds at most) for the
    background sender to put the run on the server, so that what names the run by its id (a
    registry model) finds it there. The request is the sender's, never the script's: a server that
    is slow or hung costs that one read ``ID_WAIT`` seconds at most, one the sender already found
    unreachable nothing, and the id is then the one the run will have once the sender gets through.
    ``name`` is the run's name (on the server, ``alternative_name`` when it was uploaded with
    ``conflict_strategy="new"`` next to a namesake).
    """

    def __init__(self, metadata: Mapping[str, Any], hparams: dict[str, Any] | None = None,
                 metrics: dict[str, list[dict[str, Any]]] | None = None, platform: dict[str, Any] | None = None,
                 git: dict[str, Any] | None = None) -> None:
        meta = dict(metadata)
        self.name: str = checks.resource_name(meta.get("name", "default"), "a run's name")
        self.labels: list[str] = checks.labels_list(meta.get("labels"))
        self.description: str = str(meta.get("description") or "")
        self.start_timestamp: str = meta.get("start_timestamp") or local.now_iso()
        self.end_timestamp: str | None = meta.get("end_timestamp")
        self.status: str = meta.get("status") or "start"
        self.alternative_name: str = meta.get("alternative_name") or local.alternative_name(self.name)
        self.associations: dict[str, list[dict[str, str]]] = _associations(meta.get("associations"))
        self.remote: list[dict[str, Any]] = list(meta.get("remote") or [])
        self.platform: dict[str, Any] = dict(platform or {})
        self.git: dict[str, Any] = dict(git or {})
        self.metrics: dict[str, list[dict[str, Any]]] = {t: list(e) for t, e in (metrics or {}).items()}
        self._id: str = str(meta.get("id") or object_id())
        self._artifact_dirs: dict[str, str] = dict(meta.get("artifact_dirs") or {})
        self._lock = threading.RLock()
        self.upload_lock = threading.RLock()  # one upload pass at a time (the sender's or an explicit one)
        self._version = 0
        self._saving = True
        self._params = Params(self._changed, hparams)
        self._sender: BackgroundSender | None = None
        self._uploader: RunUpload | None = None
        self._id_waited = False
        # Absolute: the script may change its working directory while the run goes on.
        if meta.get("local"):
            self.local = str(Path(meta["local"]).resolve())
        else:
            folder = local.new_folder(local.parent_dir(local.RUN_PARENT_ENV, local.RUN_PARENT_DEFAULT),
                                      self.alternative_name)
            self.local = str(folder.resolve())
            lines = [local.metric_line(t, e["step"], e.get("epoch"), e["timestamp"], e["metrics"])
                     for t, entries in self.metrics.items() for e in entries]
            (folder / local.METRICS_FILE).write_text("".join(lines), encoding="utf-8")
        local.repair_tail(Path(self.local) / local.METRICS_FILE)
        self._log = local.LineLog(Path(self.local) / local.METRICS_FILE)
        self._save()

    # ------------------------------------------------------------------ attributes
    @property
    def id(self) -> str:
        """The run's id on the server (see the class docstring)."""
        uploader, sender = self._uploader, self._sender
        if uploader is not None and sender is not None and not self._id_waited:
            self._id_waited = True  # once: a server that did not answer in time is not waited for again
            # The sender thread makes the request, never the script's: a hung server costs the
            # script ID_WAIT seconds at most (none when the sender already knows it offline).
            if not sender.offline and sender.stopped_by is None and not uploader.placed.is_set():
                sender.notify()
                uploader.placed.wait(ID_WAIT)
        return self._id

    @property
    def params(self) -> Params:
        """The run's hyperparameters (:class:`Params`)."""
        return self._params

    @property
    def hparams(self) -> Params:
        """Hyperparameters of the Run (the same object as :attr:`params`)."""
        return self._params

    @property
    def version(self) -> int:
        """How many changes the run has had (the background sender syncs up to it)."""
        return self._version

    @property
    def folder(self) -> Path:
        """The run's local folder."""
        return Path(self.local)

    def update(self, new_params: dict[str, Any], override: bool = True) -> None:
        """``run.params.update`` (:meth:`Params.update`): the spelling of the seed's Params examples
        (``run.update({'batch_size': 32})``), which its Run class does not list."""
        self._params.update(new_params, override)

    # ------------------------------------------------------------------ logging
    def log(self, type: str, metrics: dict[str, float], step: int, epoch: int | None = None) -> None:
        """Logs a set of metrics of Run.

        Args:
            type: ``train`` (or ``training``), ``val`` (``validate``, ``validation``), ``test``
                (``testing``, ``eval``, ``evaluate``, ``evaluation``), or any other name.
            metrics: ``{name: number}``; numbers must be finite (numpy scalars are fine).
            step: The step the metrics belong to (an integer ≥ 0).
            epoch: The epoch they belong to (an integer ≥ 0), if any.

        Raises:
            TypeError, ValueError: a bad type, name, value, step or epoch (nothing is written then).
        """
        kind = checks.TYPE_ALIASES.get(type) if type.__class__ is str else None
        if kind is None:
            kind = checks.metric_type(type)
        values = checks.metric_values(metrics)
        step = step if step.__class__ is int and step >= 0 else checks.step_number(step)
        if epoch is not None:
            epoch = epoch if epoch.__class__ is int and epoch >= 0 else checks.step_number(epoch, "epoch")
        timestamp = local.now_iso()
        line = local.metric_line(kind, step, epoch, timestamp, values)
        entry = {"step": step, "epoch": epoch, "timestamp": timestamp, "metrics": values}
        with self._lock:
            self._log.append(line)
            self.metrics.setdefault(kind, []).append(entry)
            self._version += 1
            if self.status == "start":
                self.status = "epoch"  # running: the runs service's vocabulary
                self._save()
        sender = self._sender
        if sender is not None:
            sender.notify()

    def finish(self, *args: Any, **kwargs: Any) -> None:
        """End the run: ``end_timestamp`` now and status ``success`` (``error`` when the run is used
        as a context manager and its block raised; ``finish(status="error")`` does the same)."""
        status = kwargs.get("status", "success")
        if status not in ("success", "error"):
            raise ValueError(f"status must be 'success' or 'error', got {status!r}")
        with self._lock:
            self.end_timestamp = local.now_iso()
            self.status = status
            self._changed()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.finish(status="error" if et is not None else "success")

    # ------------------------------------------------------------------ associations
    def mark_input(self, resource: Any) -> None:
        """Marks an Artifact, Model or Dataset as an input of this Run."""
        self._mark("inputs", resource)

    def mark_output(self, resource: Any) -> None:
        """Marks an Artifact, Model or Dataset as an output of this Run."""
        self._mark("outputs", resource)

    def _mark(self, side: str, resource: Any) -> None:
        item, artifact_dir = association_of(resource)
        with self._lock:
            items = self.associations[side]
            if not any(i["kind"] == item["kind"] and i["id"] == item["id"] for i in items):
                items.append(item)
            if artifact_dir is not None:
                self._artifact_dirs[item["id"]] = artifact_dir
            self._changed()

    # ------------------------------------------------------------------ dicts
    def to_dict(self) -> dict[str, Any]:
        """Converts Run instance to a dict and returns it."""
        with self._lock:
            data = {key: getattr(self, key) for key in _METADATA}
            data.update(id=self._id, associations=self.associations, hparams=self._params.as_dict(),
                        metrics=self.metrics, platform=self.platform, git=self.git, remote=self.remote,
                        local=self.local)
            return json.loads(json.dumps(data))  # a deep, JSON-plain copy

    def parse_from_dict(self, data: dict[str, Any]) -> None:
        """Parses a Run instance from a dict (as :meth:`to_dict` makes)."""
        with self._lock:
            for key in _METADATA:
                if key in data:
                    setattr(self, key, data[key])
            if data.get("id"):
                self._id = str(data["id"])
            if "associations" in data:
                self.associations = _associations(data["associations"])
            for key in ("platform", "git"):
                if key in data:
                    setattr(self, key, dict(data[key] or {}))
            if "remote" in data:
                self.remote = list(data["remote"] or [])
            if "metrics" in data:
                self.metrics = {t: list(e) for t, e in (data["metrics"] or {}).items()}
            if "hparams" in data:
                self._params._data.clear()
                self._params._data.update(conform_dict(dict(data["hparams"] or {}), default=str))
            self._changed()

    def record(self) -> dict[str, Any]:
        """What ``run.json`` holds: everything but the metrics, plus the local bookkeeping."""
        with self._lock:
            data = {key: getattr(self, key) for key in _METADATA}
            data.update(id=self._id, associations=self.associations, hparams=self._params.as_dict(),
                        platform=self.platform, git=self.git, remote=self.remote,
                        artifact_dirs=self._artifact_dirs)
            return json.loads(json.dumps(data))

    def artifact_dirs(self) -> dict[str, str]:
        """Local folders of the artifacts this run is associated with, by artifact id."""
        with self._lock:
            return dict(self._artifact_dirs)

    # ------------------------------------------------------------------ uploads
    def upload(self, folder: str = "default", make_folder: bool = False, conflict_strategy: str = "new") -> None:
        """Uploads this Run to server, with the Artifacts it is associated with that are not uploaded yet.

        A run already on the server (uploaded before, or by ``auto_upload``) is brought up to date
        where it is. Raises the client's errors: ``Conflict`` (``conflict_strategy="error"``),
        ``NotFound`` (a missing folder without ``make_folder``), ``ConnectionFailed``...
        """
        from ..default import default_store
        from .sync import RunUpload

        RunUpload(self, default_store(), folder, make_folder, conflict_strategy).step()

    def start_upload(self, store: DataStore, folder: str, make_folder: bool, conflict_strategy: str,
                     *, exit_timeout: float = EXIT_TIMEOUT) -> None:
        """Keep the server up to date in the background (``auto_upload``)."""
        from .sync import MIN_INTERVAL, RunUpload, sender_store

        checks.conflict_strategy(conflict_strategy)
        self.stop_upload()
        self._uploader = RunUpload(self, sender_store(store), folder, make_folder, conflict_strategy,
                                   min_interval=MIN_INTERVAL)
        self._id_waited = False
        self._sender = BackgroundSender(self._uploader.step, lambda: self._version, describe=self._describe,
                                        resume=self._resume_hint())
        self._exit_timeout = exit_timeout
        atexit.register(self._flush_at_exit)
        self._sender.notify()

    def wait_for_upload(self, timeout: float | None = None) -> bool:
        """With ``auto_upload``: wait until the server holds everything logged so far; False when it
        does not by ``timeout`` (or the server is unreachable, or refused the run for good)."""
        sender = self._sender
        return sender.wait(timeout) if sender is not None else False

    def stop_upload(self, timeout: float = 5.0) -> None:
        """Stop the background sender (what it has not sent stays in the local folder)."""
        atexit.unregister(self._flush_at_exit)
        if self._sender is not None:
            self._sender.close(timeout)
            self._sender = None
            self._uploader = None

    def _flush_at_exit(self) -> None:
        if self._sender is None:
            return
        try:
            done = self._sender.wait(self._exit_timeout)
        except KeyboardInterrupt:
            done = False
        if not done:
            log.warning("%s is not on the server yet: run %s to send it (it is kept in its folder)",
                        self._describe(), self._resume_hint())

    # ------------------------------------------------------------------ internals
    def _changed(self) -> None:
        """Write ``run.json`` and ask the sender for a pass (called after every change but a log)."""
        with self._lock:
            self._version += 1
            self._save()
        sender = self._sender
        if sender is not None:
            sender.notify()

    def _save(self) -> None:
        if self._saving:
            local.write_json(Path(self.local) / local.RUN_FILE, self.record())

    def _describe(self) -> str:
        return f"run {self.name} ({self.local})"

    def _resume_hint(self) -> str:
        """How to send the run later: ``em.upload`` on its folder (``plume sync`` takes Writer runs only)."""
        return f"`python -c \"from python_client import em; em.upload({self.local!r})\"`"

    @classmethod
    def open(cls, folder: str | Path) -> Run:
        """The run kept in local ``folder`` (FileNotFoundError when it holds none)."""
        path = Path(folder)
        record_path = path / local.RUN_FILE
        if not record_path.is_file():
            raise FileNotFoundError(f"{path} is not a run folder (no {local.RUN_FILE})")
        record = local.read_json(record_path)
        if not isinstance(record, dict) or "name" not in record:
            raise ValueError(f"{record_path} does not hold a run")
        lines, _ = local.read_lines(path / local.METRICS_FILE)
        metrics: dict[str, list[dict[str, Any]]] = {}
        for line in lines:
            kind = line.pop("type")
            metrics.setdefault(kind, []).append(line)
        return cls({**record, "local": str(path)}, record.get("hparams"), metrics, record.get("platform"),
                   record.get("git"))

    def __repr__(self) -> str:
        return f"Run(name={self.name!r}, id={self._id!r}, local={self.local!r})"


def _associations(value: Any) -> dict[str, list[dict[str, str]]]:
    value = value if isinstance(value, dict) else {}
    return {side: [dict(i) for i in value.get(side) or [] if isinstance(i, dict)] for side in ("inputs", "outputs")}
