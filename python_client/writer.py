"""``Writer``: record a training run on disk and on the backend, without ever slowing training for it.

Each call changes the run's data under ``<base_log_dir>/<run folder>/run_data.json`` (and saves
checkpoints next to it) and returns; a background sender brings the backend up to date
(:mod:`python_client.sender`). If the backend is slow or away, training is not affected: the run
stays on disk and reaches the backend when it is back, or with ``Uploader``/``plume sync``.

The run document keeps Marcelle's format::

    {_id, basename, name: "<basename>-<n>", start, source, status: idle|start|epoch|success|error,
     epoch, epochs, params, logs: {<metric>: [one value per epoch]}, model: {...},
     checkpoints: [{id, name: "<run>@<epoch|final>", service: "<format>-models",
                    metadata: {epoch, local_path, local_format}}],
     assets: [{id, service: "assets", epoch, local_path, filename, extension, mime, url}]}
"""

from __future__ import annotations

import atexit
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from .current_run import run_started
from .failures import explain
from .ids import object_id
from .model_files import checkpoint_basename, local_format, remote_format, save_model
from .reconcile import RunSync
from .remote import Remote, asset_info
from .retry import RetryPolicy
from .rundir import RunState, new_run_directory
from .sender import BackgroundSender
from .utils import conform_dict, get_model_info

log = logging.getLogger("python_client")
SENDER_RETRY = RetryPolicy(attempts=2, backoff=0.05, max_backoff=0.1)


class Writer:
    """Save training information locally and to a backend (Marcelle's ``Writer``).

    Args:
        name: The run's base name (runs are named ``<name>-<n>``).
        backend_root: The backend's URL; None keeps the run on disk only (sync it later).
        disk_save_format: How checkpoints are saved on disk: ``"h5"``, ``"keras"`` or ``"saved_model"``.
        remote_save_format: How they are uploaded: ``"tfjs"``, ``"onnx"`` (converted here) or
            ``"keras"`` (converted by the server).
        base_log_dir: Where run folders are made.
        source: The training framework (``"keras"``).
        remote: A :class:`Remote` to use instead of making one from ``backend_root``.
        api_key, timeout: For the Remote made here.
        max_queue: Bound of the sender's notice queue.
        exit_timeout: When the interpreter exits with part of the run not on the backend yet (a
            script that ends right after ``train_end()``), seconds to wait for it before the
            sender thread dies with the process; 0 only warns. ``close()`` cancels that wait.
    """

    def __init__(self, name: str, backend_root: str | None = "http://localhost:3030", disk_save_format: str = "h5",
                 remote_save_format: str = "tfjs", base_log_dir: str | Path = "marcelle-logs", source: str = "keras",
                 *, remote: Remote | None = None, api_key: str | None = None, timeout: float = 10.0,
                 max_queue: int = 64, exit_timeout: float = 30.0) -> None:
        self.name = name
        self.base_log_dir = Path(base_log_dir)
        self.disk_save_format = local_format(disk_save_format)
        self.remote_save_format = remote_format(remote_save_format)
        self.source = source
        if remote is None and backend_root is not None:
            # Few quick retries per call: the sender retries whole passes itself, with back-off, and
            # must notice soon that the backend is away (so that the end of training is not held up).
            remote = Remote(backend_root, remote_save_format, source, api_key=api_key, timeout=timeout,
                            retry=SENDER_RETRY)
        self.remote = remote
        self.max_queue = max_queue
        self.exit_timeout = exit_timeout
        self.model: Any = None
        self.state: RunState | None = None
        self.sync: RunSync | None = None
        self.sender: BackgroundSender | None = None

    # ------------------------------------------------------------------ Marcelle's attributes
    @property
    def run_data(self) -> dict[str, Any] | None:
        """A copy of the run's current data."""
        return None if self.state is None else self.state.snapshot()[1]

    @property
    def log_folder(self) -> Path | None:
        """The run's folder (``run_data.json`` and checkpoints)."""
        return None if self.state is None else self.state.directory

    # ------------------------------------------------------------------ the run
    def create_run(self, model: Any = None, run_params: dict[str, Any] | None = None, loss: Any = None) -> None:
        """Start a new run (status ``idle``), described by ``model`` and ``run_params`` (hyperparameters)."""
        start = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
        data: dict[str, Any] = {
            "_id": object_id(),
            "basename": self.name,
            "name": None,
            "start": start,
            "source": self.source,
            "status": "idle",
            "params": conform_dict(run_params or {}, default=str),
            "logs": {},
            "checkpoints": [],
            "assets": [],
        }
        if model is not None:
            self.model = model
            try:
                data["model"] = get_model_info(model, self.source, loss)
            except Exception as exc:  # describing the model is a nicety: never fail the run for it
                log.warning("could not describe the model: %s", exc)
        self.close()
        self.state = RunState(new_run_directory(self.base_log_dir, start), conform_dict(data, default=str))
        self.state.save()
        run_started(self)
        if self.remote is not None:
            self.sync = RunSync(self.remote, self.state)
            self.sender = BackgroundSender(self.sync.step, lambda: self._state().version, describe=self._describe,
                                           max_queue=self.max_queue)
            # The sender is a daemon thread (it must never keep a finished script alive), so it
            # dies at interpreter exit, whatever it still had to send.
            atexit.register(self._flush_at_exit)
            self.sender.notify()

    def train_begin(self, epochs: int) -> None:
        """Training started (status ``start``) for ``epochs`` epochs."""
        self._change(lambda d: d.update(status="start", epoch=0, epochs=conform_dict(epochs)))

    def save_epoch(self, epoch: int, logs: dict[str, Any] | None = None, save_checkpoint: bool = False,
                   assets: list[str | Path] | None = None) -> None:
        """Record the end of ``epoch`` with its scalar ``logs`` (``{"loss": 0.3}``), a checkpoint, assets.

        Each metric's list keeps one value per epoch: a metric missing this epoch gets None, and
        one first seen now gets None for the epochs before.
        """
        values = conform_dict(logs or {}, default=str)

        def change(d: dict[str, Any]) -> None:
            d["status"] = "epoch"
            d["epoch"] = epoch
            history: dict[str, list[Any]] = d["logs"]
            done = max((len(v) for v in history.values()), default=0)
            for key in values:
                history.setdefault(key, [None] * done)
            for key, series in history.items():
                series.append(values.get(key))

        self._change(change)
        if save_checkpoint:
            self.save_checkpoint(epoch)
        for asset in assets or []:
            self.save_asset(epoch, asset)

    def save_checkpoint(self, epoch: Any, model: Any = None, metadata: dict[str, Any] | None = None) -> None:
        """Save the model to the run folder now, and queue its upload."""
        if model is not None:
            self.model = model
        if self.model is None:
            raise ValueError("save_checkpoint() needs a model (create_run(model) or save_checkpoint(model=...))")
        state = self._state()
        path = save_model(self.model, state.directory / checkpoint_basename(epoch), self.disk_save_format)
        meta = {"epoch": epoch, "local_path": str(path), "local_format": self.disk_save_format,
                **conform_dict(metadata or {}, default=str)}

        def change(d: dict[str, Any]) -> None:
            d["checkpoints"].append({"id": object_id(), "name": f"{d['name']}@{epoch}" if d.get("name") else None,
                                     "service": f"{self.remote_save_format}-models", "metadata": meta})

        self._change(change)

    def save_asset(self, epoch: Any, asset_path: str | Path, metadata: dict[str, Any] | None = None) -> None:
        """Record a file of the run (an image, a sound...) and queue its upload."""
        path = Path(asset_path)
        entry = {"id": object_id(), "service": "assets", "epoch": epoch, "local_path": str(path),
                 **conform_dict(metadata or {}, default=str), **asset_info(path), "url": None}
        self._change(lambda d: d["assets"].append(entry))

    def train_end(self, logs: dict[str, Any] | None = None, save_checkpoint: bool = True) -> None:
        """Training succeeded (status ``success``); saves a ``final`` checkpoint unless told not to."""
        self._change(lambda d: d.update(status="success"))
        if save_checkpoint and self.model is not None:
            self.save_checkpoint("final")

    def train_error(self, error: BaseException | str | None = None) -> None:
        """Training failed (status ``error``; the message goes to ``error``)."""
        self._change(lambda d: d.update(status="error", **({"error": str(error)} if error is not None else {})))

    # ------------------------------------------------------------------ uploads
    def wait_for_uploads(self, timeout: float | None = None) -> bool:
        """Wait until the backend holds everything recorded so far; False (and a warning) if it does not.

        Failures that may pass (a 503, a timeout) are retried until ``timeout`` (None: no limit).
        Returns False early when the backend is plainly unreachable or a lasting error (401, 400...)
        stopped the sending, and False once the rest is sent if a checkpoint or asset could not be
        uploaded for a lasting reason (its file is gone, the backend refused it): the warning names
        what is missing. The run stays on disk either way: ``plume sync <run dir>`` sends the rest.
        """
        if self.sender is None:
            return False
        if not self.sender.wait(timeout):
            stopped = self.sender.stopped_by
            cause = f" ({explain(stopped)})" if stopped is not None else ""
            log.warning("%s is not on the backend yet%s: run `plume sync %s` to send it (it is kept on disk)",
                        self._describe(), cause, self.log_folder)
            return False
        skipped = self.sync.skipped_items() if self.sync is not None else []
        if skipped:
            log.warning("%s is on the backend without %s: run `plume sync %s` once that is fixed",
                        self._describe(), "; ".join(skipped), self.log_folder)
            return False
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop the background sender (what it has not sent stays on disk), waiting at most ``timeout`` seconds."""
        atexit.unregister(self._flush_at_exit)
        if self.sender is not None:
            self.sender.close(timeout)
            self.sender = None

    def _flush_at_exit(self) -> None:
        """At interpreter exit: give the sender ``exit_timeout`` seconds to finish, else say what is left."""
        if self.sender is None:
            return
        try:
            self.wait_for_uploads(self.exit_timeout)
        except KeyboardInterrupt:  # a user who does not want to wait: say what is left, quietly
            log.warning("%s is not on the backend yet: run `plume sync %s` to send it (it is kept on disk)",
                        self._describe(), self.log_folder)

    # ------------------------------------------------------------------ internals
    def _state(self) -> RunState:
        if self.state is None:
            raise RuntimeError("create_run() first")
        return self.state

    def _change(self, change: Any) -> None:
        self._state().update(change)
        if self.sender is not None:
            self.sender.notify()

    def _describe(self) -> str:
        state = self.state
        if state is None:
            return "the run"
        return f"run {state.data.get('name') or state.data.get('basename')} ({state.directory})"
