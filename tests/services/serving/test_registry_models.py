"""An endpoint serving a registry model (``models``): its latest version's ONNX weights, and its
labels as the answer's top-N names."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import requests

import python_client
from python_client.model import OutputModel
from tests.support.server import PlumeProcess

from . import onnx_models

TOLERANCE = 1e-5


def wait_ready(url: str, name: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (doc := requests.get(f"{url}/endpoints/{name}", timeout=10).json())["status"] == "creating":
        assert time.monotonic() < deadline, doc
        time.sleep(0.05)
    return doc


@pytest.fixture
def server(tmp_path: Path) -> PlumeProcess:
    with PlumeProcess(tmp_path / "server") as srv:
        python_client.connect(srv.url)
        yield srv
        python_client.disconnect()


def test_a_registry_model_is_served_with_its_labels(server: PlumeProcess, tmp_path: Path) -> None:
    weights = onnx_models.mlp(tmp_path / "mlp.onnx")
    run = requests.post(f"{server.url}/runs", json={"name": "iris-training"}, timeout=10).json()
    model = OutputModel(task=run["_id"], name="iris-mlp", framework="onnx",
                        label_enumeration={"setosa": 0, "versicolor": 1, "virginica": 2})
    model.update_weights(weights_filename=str(weights), auto_delete_file=False)
    assert OutputModel.wait_for_uploads(timeout=60)
    created = requests.post(f"{server.url}/endpoints", json={"name": "iris", "model": f"models/{model.id}"},
                            timeout=10)
    assert created.status_code == 201, created.text
    ready = wait_ready(server.url, "iris")
    assert ready["status"] == "ready", ready
    x = np.random.default_rng(5).normal(size=(3, 4)).astype(np.float32)
    expected = ort.InferenceSession(str(weights)).run(None, {"x": x})[0]
    answer = requests.post(f"{server.url}/endpoints/iris/predict", json={"instances": x.tolist()}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert np.abs(np.asarray(answer.json()["predictions"]) - expected).max() <= TOLERANCE
    # With top_n, the registry's label enumeration names the classes, most probable first.
    patched = requests.patch(f"{server.url}/endpoints/iris", json={"top_n": 2}, timeout=10).json()
    assert patched["status"] == "creating"  # a new configuration is loaded again
    assert wait_ready(server.url, "iris")["status"] == "ready"
    top = requests.post(f"{server.url}/endpoints/iris/predict", json={"instances": x[:1].tolist()}, timeout=10)
    names = ["setosa", "versicolor", "virginica"]
    best = [names[i] for i in np.argsort(-expected[0])[:2]]
    assert list(top.json()["predictions"][0]) == best
