"""The KerasCallback with a live server: a tiny model trained 3 epochs, a checkpoint every epoch.

* tfjs checkpoints: the run document, per-epoch logs, checkpoints that TF.js loads, and the events
  a subscribed client sees while it trains;
* keras checkpoints: the server converts them; the downloaded ``.h5`` loads with Keras;
* onnx checkpoints converted locally run in onnxruntime; SavedModel checkpoints become TF.js graph models.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from python_client import AsyncDataStore, DataStore
from services.models import ConversionManager
from tests.python_client.runs import on_disk, without_server_fields
from tests.services.conversion.conftest import node_ready, onnx_predict, tfjs_predict
from tests.support.inprocess import Running
from tests.support.server import PlumeProcess

from .support import (
    NAMES,
    TOLERANCE,
    check_run_document,
    fetch_files,
    keras_predict,
    train,
    train_async,
    wait_conversions,
)

pytestmark = pytest.mark.timeout(600)


async def test_tfjs_checkpoints_and_realtime_events(server: Running, tmp_path: Path) -> None:
    events: list[tuple[str, Any]] = []
    async with AsyncDataStore(server.url) as listener:
        runs = listener.service("runs")
        await runs.on("created", lambda run: events.append(("created", run["status"])))
        await runs.on("patched", lambda run: events.append(("patched", (run["status"], run.get("epoch")))))
        await listener.service("tfjs-models").on("created", lambda doc: events.append(("model", doc["name"])))
        result = await train_async(server.url, tmp_path, "--format", "tfjs", "--flush-each-epoch")
        # The run's last patch (success) is its last event: wait for it rather than for a while.
        deadline = asyncio.get_running_loop().time() + 30
        while ("patched", ("success", 3)) not in events:
            assert asyncio.get_running_loop().time() < deadline, events
            await asyncio.sleep(0.01)
    run_dir = Path(result["run_dir"])
    store = AsyncDataStore(server.url)
    try:
        (run,) = [r async for r in store.service("runs").items()]
        check_run_document(run, "tfjs-models")
        assert without_server_fields(run) == on_disk(run_dir)
        assert len([kind for kind, _ in events if kind == "created"]) == 1
        epochs = [e[1] for kind, e in events if kind == "patched" and e[0] == "epoch"]
        assert sorted(set(epochs)) == [1, 2, 3] and epochs == sorted(epochs)  # every epoch, live, in order
        assert ("patched", ("success", 3)) in events
        assert sorted(name for kind, name in events if kind == "model") == sorted(NAMES)
        for checkpoint in run["checkpoints"]:
            doc = await store.service("tfjs-models").get(checkpoint["id"])
            assert doc["name"] == checkpoint["name"] and doc["run"] == run["_id"]
            assert doc["metadata"]["tfjsModelFormat"] == "layers-model"
            assert doc["metadata"]["epoch"] == checkpoint["metadata"]["epoch"]
        final = run["checkpoints"][-1]["id"]
        into = tmp_path / "final"
        into.mkdir()
        final_doc = await store.service("tfjs-models").get(final)
        for filename, _ in final_doc["files"]:
            await store.service("tfjs-models").download(final, filename, into)
    finally:
        await store.close()
    if not node_ready():
        pytest.fail("Node and tests/js/node_modules (npm ci in tests/js) are needed to load the TF.js model")
    (out,) = tfjs_predict(into, [np.asarray(result["probe"], dtype=np.float32)])
    assert np.abs(out - np.asarray(result["expected"])).max() <= TOLERANCE


async def test_keras_checkpoints_are_converted_by_the_server(server: Running, tmp_path: Path) -> None:
    result = await train_async(server.url, tmp_path, "--format", "keras")
    expected = np.asarray(result["expected"], dtype=np.float32)
    probe = [np.asarray(result["probe"], dtype=np.float32)]
    await server.app.extensions.get(ConversionManager).wait_idle()

    def check() -> tuple[dict[str, Any], Path, Path, Path]:
        with DataStore(server.url) as store:
            (run,) = list(store.service("runs").items())
            check_run_document(run, "keras-models")
            docs = wait_conversions(store, [c["id"] for c in run["checkpoints"]])
            for doc in docs:
                assert doc["format"] == "keras" and doc["run"] == run["_id"]
                assert {c["status"] for c in doc["conversions"].values()} == {"done"}, doc["conversions"]
            final = docs[-1]
            keras_doc = fetch_files(store, "keras-models", final["_id"], tmp_path / "keras")
            assert keras_doc["files"][0][0] == "model_checkpoint_final.h5"
            fetch_files(store, "tfjs-models", final["conversions"]["tfjs"]["modelId"], tmp_path / "tfjs")
            onnx = fetch_files(store, "onnx-models", final["conversions"]["onnx"]["modelId"], tmp_path / "onnx")
            return run, tmp_path / "keras" / keras_doc["files"][0][0], tmp_path / "tfjs", \
                tmp_path / "onnx" / onnx["files"][0][0]

    _, h5, tfjs_dir, onnx_file = await asyncio.to_thread(check)
    assert np.abs(await asyncio.to_thread(keras_predict, h5, result["probe"], tmp_path) - expected).max() <= TOLERANCE
    assert np.abs(onnx_predict(onnx_file, probe)[0] - expected).max() <= TOLERANCE
    assert np.abs(tfjs_predict(tfjs_dir, probe)[0] - expected).max() <= TOLERANCE


def test_onnx_checkpoints_converted_locally(plume_process: PlumeProcess, tmp_path: Path) -> None:
    result = train(plume_process.url, tmp_path, "--format", "onnx", "--disk", "keras", "--freq", "0")
    with DataStore(plume_process.url) as store:
        (run,) = list(store.service("runs").items())
        assert [c["name"] for c in run["checkpoints"]] == ["kt-1@final"]  # the final one only
        checkpoint = run["checkpoints"][0]
        assert checkpoint["service"] == "onnx-models" and checkpoint["metadata"]["local_format"] == "keras"
        doc = fetch_files(store, "onnx-models", checkpoint["id"], tmp_path / "onnx")
    (out,) = onnx_predict(tmp_path / "onnx" / doc["files"][0][0], [np.asarray(result["probe"], dtype=np.float32)])
    assert np.abs(out - np.asarray(result["expected"])).max() <= TOLERANCE


def test_saved_model_checkpoints_become_tfjs_graph_models(plume_process: PlumeProcess, tmp_path: Path) -> None:
    train(plume_process.url, tmp_path, "--format", "tfjs", "--disk", "saved_model", "--freq", "0")
    with DataStore(plume_process.url) as store:
        (run,) = list(store.service("runs").items())
        (checkpoint,) = run["checkpoints"]
        assert checkpoint["metadata"]["local_format"] == "saved_model"
        assert Path(checkpoint["metadata"]["local_path"], "saved_model.pb").is_file()
        doc = fetch_files(store, "tfjs-models", checkpoint["id"], tmp_path / "graph")
    assert doc["metadata"]["tfjsModelFormat"] == "graph-model"  # what Marcelle's frontend loads it with
    assert json.loads((tmp_path / "graph" / "model.json").read_text())["format"] == "graph-model"
