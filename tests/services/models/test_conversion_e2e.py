"""Keras → TF.js and ONNX through the server: upload, create, watch ``keras-models patched``, check numbers.

One server (and one conversion worker) for the module. The ONNX result runs in onnxruntime and the
TF.js result is loaded by TF.js 4.22 itself (Node, pure-JS packages), both compared with Keras.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import pytest_asyncio

from tests.services.conversion.conftest import TOLERANCE, load_case, node_ready, onnx_predict, tfjs_predict
from tests.support.inprocess import Running, running
from tests.support.model_files import keras_zip

from .convert_client import KerasWatcher, fetch_model, submit

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(600)]
# The list for both Keras flavours: dense, conv, Sequential with BatchNorm/Dropout, two inputs.
CASES = ["k3_dense", "k3_dense_h5", "k3_conv", "k3_sequential_bn", "k3_two_inputs",
         "tfk_dense", "tfk_conv", "tfk_sequential_bn", "tfk_two_inputs"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def srv(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    async with running(tmp_path_factory.mktemp("server")) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def watcher(srv: Running) -> AsyncIterator[KerasWatcher]:
    async with KerasWatcher(srv.url) as w:
        yield w


async def _check_outputs(http: aiohttp.ClientSession, srv: Running, doc: dict[str, Any], info: dict[str, Any],
                         tmp_path: Path) -> None:
    inputs, expected = load_case(info)
    onnx_id = doc["conversions"]["onnx"]["modelId"]
    onnx_doc = await fetch_model(http, srv.url, "onnx-models", onnx_id, tmp_path / "onnx")
    assert onnx_doc["source"] == doc["_id"] and onnx_doc["format"] == "onnx"
    (onnx_out,) = onnx_predict(tmp_path / "onnx" / onnx_doc["files"][0][0], inputs)
    assert np.abs(onnx_out - expected).max() <= TOLERANCE

    tfjs_id = doc["conversions"]["tfjs"]["modelId"]
    tfjs_doc = await fetch_model(http, srv.url, "tfjs-models", tfjs_id, tmp_path / "tfjs")
    assert tfjs_doc["source"] == doc["_id"] and tfjs_doc["format"] == "tfjs"
    assert tfjs_doc["metadata"]["tfjsModelFormat"] == "layers-model"
    assert tfjs_doc["metadata"]["team"] == "ml"  # the Keras document's metadata is carried over
    assert tfjs_doc["files"][0][0] == "model.json"
    if not node_ready():
        pytest.fail("Node and tests/js/node_modules (npm ci in tests/js) are needed to check TF.js output")
    (tfjs_out,) = tfjs_predict(tmp_path / "tfjs", inputs)
    assert np.abs(tfjs_out - expected).max() <= TOLERANCE


@pytest.mark.parametrize("case", CASES)
async def test_conversion_through_the_server(
    srv: Running, watcher: KerasWatcher, models: dict[str, Any], case: str, tmp_path: Path
) -> None:
    info = models[case]
    async with aiohttp.ClientSession() as http:
        created = await submit(http, srv.url, Path(info["file"]), metadata={"team": "ml"})
        assert created["conversions"] == {"tfjs": {"status": "pending"}, "onnx": {"status": "pending"}}
        doc = await watcher.finished(created["_id"])
        assert doc["conversions"]["tfjs"]["status"] == "done", doc["conversions"]
        assert doc["conversions"]["onnx"]["status"] == "done", doc["conversions"]
        for target in ("tfjs", "onnx"):
            assert watcher.statuses(created["_id"], target)[-2:] == ["running", "done"]
        await _check_outputs(http, srv, doc, info, tmp_path)
    # The server process never imports TensorFlow: the worker does.
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules


async def test_a_model_keras_cannot_load_errors_and_the_next_job_works(
    srv: Running, watcher: KerasWatcher, models: dict[str, Any], tmp_path: Path
) -> None:
    # A well-formed .keras archive (it passes the upload check) whose layer class nobody registered.
    broken = tmp_path / "broken.keras"
    broken.write_bytes(keras_zip({"module": "my_project.layers", "class_name": "MyMagicLayer", "config": {},
                                  "registered_name": "my_project>MyMagicLayer"}))
    async with aiohttp.ClientSession() as http:
        bad = await submit(http, srv.url, broken)
        doc = await watcher.finished(bad["_id"])
        for target in ("tfjs", "onnx"):
            assert doc["conversions"][target]["status"] == "error"
            assert doc["conversions"][target]["error"].startswith("could not load model.keras (saved by Keras 3.15.1)")
        good = await submit(http, srv.url, Path(models["k3_dense"]["file"]), convert=["onnx"])
        assert good["conversions"] == {"onnx": {"status": "pending"}}
        doc = await watcher.finished(good["_id"])
        assert doc["conversions"]["onnx"]["status"] == "done"
        async with http.get(f"{srv.url}/tfjs-models", params={"source": good["_id"]}) as r:
            assert (await r.json())["total"] == 0  # only what was asked for


async def test_pending_conversion_resumes_after_a_restart(models: dict[str, Any], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running(data_dir) as first, aiohttp.ClientSession() as http:
        created = await submit(http, first.url, Path(models["k3_conv"]["file"]))
    # The first server stopped before its (cold) worker could finish: the document says so.
    async with running(data_dir) as second, KerasWatcher(second.url) as w, aiohttp.ClientSession() as http:
        async with http.get(f"{second.url}/keras-models/{created['_id']}") as r:
            current = await r.json()
        # The second server's worker is still cold: the job can only have been resumed, not finished.
        assert {c["status"] for c in current["conversions"].values()} <= {"pending", "running"}
        doc = await w.finished(created["_id"])
        assert {c["status"] for c in doc["conversions"].values()} == {"done"}
        async with http.get(f"{second.url}/onnx-models", params={"source": created["_id"]}) as r:
            assert (await r.json())["total"] == 1  # resumed once, not duplicated
