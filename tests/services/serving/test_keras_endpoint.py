"""The whole path with a real Keras model: registered in ``keras-models``, converted to ONNX by the
server, deployed as an endpoint (created while the conversion runs), and predictions through REST,
the custom method on both transports, ``InputQueue``/``OutputQueue`` and ``ModelEndPoint.predict``,
all equal to onnxruntime's own output on the converted model."""

from __future__ import annotations

import asyncio
import base64
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

import python_client
from python_client.serving import InputQueue, ModelEndPoint, OutputQueue
from tests.conformance.clients import SocketClient
from tests.services.files.support import post_form
from tests.support.inprocess import running

from .support import EndpointWatcher, predict

REPO = Path(__file__).resolve().parents[3]
TOLERANCE = 1e-5
LABELS = ["cat", "dog", "cow"]


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keras") / "classifier.keras"
    proc = subprocess.run([sys.executable, "-m", "tests.services.serving.make_classifier", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return path


async def test_keras_classifier_served_on_every_path(tmp_path: Path, keras_file: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        status, files = await post_form(http, f"{srv.url}/keras-models/upload",
                                        ("model.keras", keras_file.name, keras_file.read_bytes()))
        assert status == 200, files
        async with http.post(f"{srv.url}/keras-models", json={"name": "classifier", "files": files,
                                                             "metadata": {"labels": LABELS}}) as r:
            keras_doc = await r.json()
        # Deployed while the conversion is still pending: the endpoint waits for it.
        async with http.post(f"{srv.url}/endpoints", json={"name": "animals", "model": "keras-models/classifier",
                                                           "replicas": 2}) as r:
            assert r.status == 201, await r.text()
        ready = await watch.status("animals", timeout=240)
        assert ready["status"] == "ready", ready
        async with http.get(f"{srv.url}/keras-models/{keras_doc['_id']}") as r:
            onnx_id = (await r.json())["conversions"]["onnx"]["modelId"]
        assert ready["source"] == f"onnx-models/{onnx_id}"
        async with http.get(f"{srv.url}/onnx-models/{onnx_id}/model.onnx") as r:
            session = ort.InferenceSession(await r.read())
        input_name = session.get_inputs()[0].name
        rng = np.random.default_rng(8)
        pixels = rng.integers(0, 256, size=(5, 8, 8, 3), dtype=np.uint8)
        images = pixels.astype(np.float32)
        expected = session.run(None, {input_name: images})[0]

        def close(answer: Any) -> bool:
            return bool(np.abs(np.asarray(answer, dtype=np.float64) - expected).max() <= TOLERANCE)

        # REST
        status, body = await predict(http, srv.url, "animals", {"instances": images.tolist()})
        assert status == 200 and close(body["predictions"])
        # base64 PNGs give the same pixels
        pngs = [_png(p) for p in pixels]
        status, body = await predict(http, srv.url, "animals", {"instances": [{"b64": p} for p in pngs]})
        assert status == 200 and close(body["predictions"])
        # The custom method: X-Service-Method, and socket.io
        async with http.post(f"{srv.url}/endpoints", json={"endpoint": "animals", "instances": images.tolist()},
                             headers={"X-Service-Method": "predict"}) as r:
            assert r.status == 200 and close((await r.json())["predictions"])
        sio = await SocketClient(srv.url).connect()
        try:
            assert close((await sio.call("predict", "endpoints", {"instances": images.tolist()},
                                         {"endpoint": "animals"}))["predictions"])
        finally:
            await sio.close()
        # The Python client (sync: in a thread)
        await asyncio.to_thread(_python_client, srv.url, pixels, expected)


def _python_client(url: str, pixels: np.ndarray, expected: np.ndarray) -> None:
    python_client.connect(url)
    try:
        endpoint = ModelEndPoint.lookup("animals")
        assert endpoint.status == "ready" and endpoint.replicas == 2
        answer = endpoint.predict({"features": [_png_bytes(p) for p in pixels]})
        assert np.abs(answer - expected).max() <= TOLERANCE
        answer = endpoint.predict({"features": list(pixels.astype(np.float32))})
        assert np.abs(answer - expected).max() <= TOLERANCE
        inq, outq = InputQueue(name="animals"), OutputQueue(name="animals")
        done = _results_listener()
        for i, p in enumerate(pixels):
            inq.enqueue(f"pic-{i}", image={"b64": _png(p)})
        assert done.wait_for(len(pixels))
        for i in range(len(pixels)):
            assert np.abs(outq.query(f"pic-{i}") - expected[i]).max() <= TOLERANCE
        assert set(outq.dequeue()) == {f"pic-{i}" for i in range(len(pixels))}
        direct = InputQueue(sync=True, frontend_url=url, name="animals")
        answer = direct.predict({"instances": [{"b64": _png(p)} for p in pixels]})
        assert np.abs(answer - expected).max() <= TOLERANCE
        direct.close()
    finally:
        python_client.disconnect()


class _Count:
    def __init__(self) -> None:
        import threading

        self.n = 0
        self.cond = threading.Condition()

    def add(self, _: Any) -> None:
        with self.cond:
            self.n += 1
            self.cond.notify_all()

    def wait_for(self, n: int, timeout: float = 60) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.n >= n, timeout)


def _results_listener() -> _Count:
    count = _Count()
    python_client.default_store().service("serving-results").on("created", count.add)
    return count


def _png_bytes(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _png(pixels: np.ndarray) -> str:
    return base64.b64encode(_png_bytes(pixels)).decode()
