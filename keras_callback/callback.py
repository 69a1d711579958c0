"""The Keras callback: a :class:`python_client.Writer` driven by ``fit`` (imports Keras)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from python_client.writer import Writer

log = logging.getLogger("keras_callback")


class KerasCallback(keras.callbacks.Callback):
    """Store a Keras training run in a Plume (or Marcelle) backend and on disk.

    Args:
        name: The run's base name (runs are named ``<name>-<n>``).
        backend_root: The backend's URL (None: disk only; ``plume sync`` later).
        disk_save_format: Checkpoints on disk: ``"h5"``, ``"keras"`` or ``"saved_model"``.
        remote_save_format: Checkpoints on the backend: ``"tfjs"``, ``"onnx"`` or ``"keras"``.
        model_checkpoint_freq: Save a checkpoint every this many epochs (None: only the final one).
        base_log_dir: Where run folders are made.
        run_params: Parameters recorded with the run (``fit``'s own params are added).
        final_checkpoint: Save a ``final`` checkpoint when training ends (Marcelle always did).
        upload_timeout: Seconds to wait at the end of training for the backend to receive
            everything: passing failures (a 503, a timeout) are retried until then; it returns
            early if the backend is unreachable or refused the run (the run stays on disk).
        api_key: For a backend with authentication on (default ``$PLUME_API_KEY``).
        writer: A Writer to use instead of making one.

    Nothing it does can stop or fail training: a backend that is slow or away only produces a
    warning, and an unexpected error in the callback is logged and training goes on.
    """

    def __init__(self, name: str, backend_root: str | None = "http://localhost:3030", disk_save_format: str = "h5",
                 remote_save_format: str = "tfjs", model_checkpoint_freq: int | None = None,
                 base_log_dir: str | Path = "marcelle-logs", run_params: dict[str, Any] | None = None, *,
                 final_checkpoint: bool = True, upload_timeout: float = 60.0, api_key: str | None = None,
                 writer: Writer | None = None) -> None:
        super().__init__()
        self.model_checkpoint_freq = model_checkpoint_freq
        self.run_params = dict(run_params or {})
        self.final_checkpoint = final_checkpoint
        self.upload_timeout = upload_timeout
        self.writer = writer or Writer(name, backend_root=backend_root, disk_save_format=disk_save_format,
                                       remote_save_format=remote_save_format, base_log_dir=base_log_dir,
                                       source="keras", api_key=api_key)

    def _guarded(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            log.exception("Plume callback: %s failed; training goes on", what)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        params = dict(self.params or {})

        def begin() -> None:
            self.writer.create_run(self.model, run_params={**self.run_params, **params})
            self.writer.train_begin(params.get("epochs", 0))

        self._guarded("starting the run", begin)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        freq = self.model_checkpoint_freq
        checkpoint = bool(freq) and (epoch + 1) % freq == 0  # type: ignore[operator]
        self._guarded(f"recording epoch {epoch + 1}", lambda: self.writer.save_epoch(epoch + 1, logs, checkpoint))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._guarded("ending the run", lambda: self.writer.train_end(logs, save_checkpoint=self.final_checkpoint))
        if self.writer.sender is not None:
            self._guarded("sending the run", lambda: self.writer.wait_for_uploads(self.upload_timeout))
        self.writer.close()
