"""A backend that is down delays weights uploads, never loses them, and never blocks the caller."""

from __future__ import annotations

import os
import time
from pathlib import Path

import python_client
from python_client.model import Model, OutputModel
from python_client.model.uploads import UploadQueue
from tests.support.server import PlumeProcess


def until(condition: object, timeout: float = 60.0) -> None:
    """Wait for ``condition()`` to hold (polling); fail past ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_uploads_wait_for_the_backend_and_delete_the_file_only_then(tmp_path: Path, cache: Path, task: str) -> None:
    srv = PlumeProcess(tmp_path / "server").start()
    try:
        python_client.connect(srv.url)
        model = OutputModel(task=task, name="patient")
        srv.stop()
        path = tmp_path / "epoch-1.bin"
        data = os.urandom(100_000)
        path.write_bytes(data)
        sender = UploadQueue.get().sender
        failures = sender.failures
        uri = model.update_weights(str(path), iteration=1)  # returns although nobody answers
        assert uri.endswith("/epoch-1.bin")
        until(lambda: sender.failures > failures)  # the upload was tried and failed
        assert path.exists()  # kept while it is not on the server
        assert not OutputModel.wait_for_uploads(timeout=0.5)
        assert path.exists()
        srv.start()
        assert OutputModel.wait_for_uploads(timeout=120)
        assert not path.exists()
        version = Model(model.id).versions[0]
        assert (version["version"], version["iteration"], version["size"]) == (1, 1, len(data))
        assert Path(model.get_weights(raise_on_error=True)).read_bytes() == data
    finally:
        python_client.disconnect()
        srv.stop()


def test_a_lasting_refusal_keeps_the_file_and_the_next_uploads_go_on(plume: PlumeProcess, tmp_path: Path,
                                                                      cache: Path, task: str) -> None:
    python_client.connect(plume.url)
    try:
        refused, accepted = OutputModel(task=task, name="refused"), OutputModel(task=task, name="accepted")
        # Published by another client: this process does not know it yet, so the upload is queued.
        python_client.default_store().service("models").patch(refused.id, {"published": True})
        first, second = tmp_path / "a.bin", tmp_path / "b.bin"
        first.write_bytes(b"a" * 100)
        second.write_bytes(b"b" * 100)
        refused.update_weights(str(first))
        accepted.update_weights(str(second))
        assert not OutputModel.wait_for_uploads(timeout=60)  # one of them failed for good
        assert first.exists() and not second.exists()
        assert Model(refused.id).versions == [] and len(Model(accepted.id).versions) == 1
        assert refused.url is None  # the refused weights are not the model's
        assert OutputModel.wait_for_uploads(timeout=60)  # the failure was reported once
    finally:
        python_client.disconnect()


def test_waiting_with_nothing_pending_returns_true() -> None:
    UploadQueue.get().take_failures()
    assert OutputModel.wait_for_uploads(timeout=0)
