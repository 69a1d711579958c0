"""Helpers for the Keras callback tests: run ``train.py`` in a subprocess, read back what the backend holds."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from python_client import DataStore
from tests.support.server import REPO

TRAIN = [sys.executable, "-m", "tests.keras_callback.train"]
TOLERANCE = 1e-5
NAMES = ["kt-1@1", "kt-1@2", "kt-1@3", "kt-1@final"]


def train_args(url: str, tmp: Path, *extra: str) -> list[str]:
    return [*TRAIN, "train", "--url", url, "--logs", str(tmp / "logs"), "--out", str(tmp / "result.json"), *extra]


def train(url: str, tmp: Path, *extra: str) -> dict[str, Any]:
    """Train to the end; the script's result (run folder, probe inputs, Keras' predictions)."""
    proc = subprocess.run(train_args(url, tmp, *extra), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((tmp / "result.json").read_text())  # type: ignore[no-any-return]


async def train_async(url: str, tmp: Path, *extra: str) -> dict[str, Any]:
    """:func:`train` without blocking the event loop (the in-process server must keep serving)."""
    proc = await asyncio.create_subprocess_exec(*train_args(url, tmp, *extra), cwd=REPO,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, err.decode()[-3000:]
    return json.loads((tmp / "result.json").read_text())  # type: ignore[no-any-return]


def keras_predict(path: Path, probe: list[list[float]], tmp: Path) -> np.ndarray:
    """Load a ``.keras``/``.h5`` file with Keras (in a subprocess) and predict ``probe``."""
    inputs = tmp / "probe.json"
    inputs.write_text(json.dumps(probe))
    proc = subprocess.run([*TRAIN, "load", str(path), str(inputs)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.asarray(json.loads(proc.stdout.strip().splitlines()[-1]), dtype=np.float32)


def fetch_files(store: DataStore, service: str, doc_id: str, into: Path) -> dict[str, Any]:
    """Download every file of model document ``doc_id`` into ``into``; the document."""
    doc = store.service(service).get(doc_id)
    into.mkdir(parents=True, exist_ok=True)
    for filename, _ in doc["files"]:
        store.service(service).download(doc_id, filename, into / filename)
    return doc  # type: ignore[no-any-return]


def wait_conversions(store: DataStore, ids: list[str], timeout: float = 240) -> list[dict[str, Any]]:
    """The ``keras-models`` documents once the server's conversions of all of them have ended."""
    deadline = time.monotonic() + timeout
    while True:
        docs = [store.service("keras-models").get(i) for i in ids]
        if all(c["status"] in ("done", "error") for d in docs for c in d["conversions"].values()):
            return docs
        assert time.monotonic() < deadline, [d["conversions"] for d in docs]
        time.sleep(0.2)


def counts(store: DataStore) -> dict[str, int]:
    """How many documents each service of a run holds."""
    return {path: store.service(path).find({"query": {"$limit": 0}})["total"]
            for path in ("runs", "tfjs-models", "onnx-models", "keras-models", "assets")}


def check_run_document(run: dict[str, Any], service: str) -> None:
    """Marcelle's run format, as the issue lists it."""
    assert {"_id", "basename", "name", "start", "source", "status", "epoch", "epochs", "params", "logs",
            "checkpoints", "assets", "model"} <= set(run)
    assert (run["basename"], run["name"], run["source"], run["status"]) == ("kt", "kt-1", "keras", "success")
    assert (run["epoch"], run["epochs"]) == (3, 3)
    assert run["params"]["seed"] == 3 and run["params"]["epochs"] == 3
    assert set(run["logs"]) == {"loss", "mae"} and all(len(v) == 3 for v in run["logs"].values())
    assert all(isinstance(v, float) for series in run["logs"].values() for v in series)
    model = run["model"]
    assert model["name"] == "tiny" and model["loss"] == "mse"
    assert model["param_count"] == {"total": 58, "trainable": 58, "non_trainable": 0}
    assert [(layer["layer_n"], layer["input_shape"], layer["output_shape"]) for layer in model["layers"]] == [
        (0, [None, 4], [None, 8]), (1, [None, 8], [None, 2])]
    assert "dense" in model["summary"]
    assert [c["name"] for c in run["checkpoints"]] == NAMES
    for checkpoint, epoch in zip(run["checkpoints"], [1, 2, 3, "final"], strict=True):
        assert checkpoint["service"] == service and len(checkpoint["id"]) == 24
        assert checkpoint["metadata"]["epoch"] == epoch and checkpoint["metadata"]["local_format"] == "h5"
        assert Path(checkpoint["metadata"]["local_path"]).is_file()
