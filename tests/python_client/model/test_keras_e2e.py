"""End to end with Keras: train 2 epochs with weights after each, publish; a fresh process finds the
model, downloads its weights and gets the same predictions; the run lists the model; the server
converts the Keras weights to TF.js and ONNX (real server, real client, TensorFlow in subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import python_client
from tests.support.server import REPO, PlumeProcess

pytestmark = pytest.mark.timeout(600)


def script(*args: str, cwd: Path) -> None:
    env = {**os.environ, "PLUME_CACHE_DIR": str(cwd / "cache"), "TQDM_DISABLE": "1",
           "EM_RUN_PARENT_DIR": str(cwd / "em-runs"), "EM_ARTIFACT_PARENT_DIR": str(cwd / "em-artifacts")}
    done = subprocess.run([sys.executable, "-m", "tests.python_client.model.keras_train", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-4000:]


def until(read: Any, check: Any, timeout: float = 400.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if check(value):
            return value
        assert time.monotonic() < deadline, f"condition not reached: {value}"
        time.sleep(0.5)


def run_spec(store: python_client.DataStore) -> str:
    """An em run when python_client.em exists, else the id of a run document."""
    try:
        import python_client.em  # noqa: F401
    except ImportError:
        return str(store.service("runs").create({"name": "keras-e2e-run"})["_id"])
    return "em"


def test_train_publish_and_load_in_a_fresh_process(tmp_path: Path) -> None:
    with PlumeProcess(tmp_path / "server") as srv, python_client.DataStore(srv.url) as store:
        out = tmp_path / "out"
        out.mkdir()
        script("train", srv.url, str(out), run_spec(store), cwd=tmp_path)
        ids = json.loads((out / "ids.json").read_text())
        assert not list(out.glob("epoch-*.keras"))  # deleted once uploaded (auto_delete_file)

        fresh = tmp_path / "fresh"
        fresh.mkdir()
        script("predict", srv.url, str(fresh), "keras-e2e", cwd=fresh)
        loaded = json.loads((fresh / "loaded.json").read_text())
        assert loaded["model"] == ids["model"] and Path(loaded["path"]).name == "epoch-2.keras"
        assert loaded["labels"] == {"low": 0, "high": 1} and loaded["config"]["name"].startswith("sequential")
        np.testing.assert_allclose(np.load(fresh / "loaded.npy"), np.load(out / "trained.npy"), rtol=1e-6)

        model = store.service("models").get(ids["model"])
        assert model["published"] and model["version"] == 2 and model["framework"] == "keras"
        versions = store.service("model-versions").find({"query": {"model": ids["model"], "$sort": {"version": 1}}})
        assert [(v["version"], v["iteration"]) for v in versions["data"]] == [(1, 1), (2, 2)]
        outputs = store.service("runs").get(ids["run"])["associations"]["outputs"]
        assert {"kind": "model", "id": ids["model"], "name": "keras-e2e"} in outputs

        # The server converts the published Keras weights to TF.js and ONNX (in its worker process).
        latest = versions["data"][1]["_id"]
        done = until(lambda: store.service("model-versions").get(latest).get("conversions", {}),
                     lambda c: c and all(t.get("status") in ("done", "error") for t in c.values()))
        assert {t: c["status"] for t, c in done.items()} == {"tfjs": "done", "onnx": "done"}, done
        onnx = store.service("onnx-models").get(done["onnx"]["modelId"])
        assert onnx["metadata"]["registry"] == {"model": ids["model"], "version": latest, "number": 2}
