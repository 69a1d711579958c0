"""Endpoints over the wire: lifecycle, predictions through REST, the custom method on both
transports, every value kind, top_n, dynamic batching of concurrent requests, and the results
checked against onnxruntime itself."""

from __future__ import annotations

import asyncio
import base64
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import onnxruntime as ort
from PIL import Image

from services.serving.batcher import BatchStats
from services.serving.deployments import Deployments
from tests.conformance.clients import SocketClient
from tests.support.inprocess import running

from .support import EndpointWatcher, create_endpoint, predict, upload_onnx

TOLERANCE = 1e-5


def reference(path: Path, feeds: dict[str, Any]) -> list[np.ndarray]:
    """onnxruntime's own outputs."""
    return ort.InferenceSession(str(path)).run(None, feeds)  # type: ignore[no-any-return]


def png_b64(pixels: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


async def test_predictions_equal_onnxruntime_on_every_transport(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        doc = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp")
        ready = await create_endpoint(http, srv.url, watch, "mlp", doc["_id"], description="an MLP")
        assert ready["status"] == "ready" and watch.statuses("mlp")[0] == "creating"
        assert ready["inputs"] == [{"name": "x", "shape": [None, 4], "dtype": "float32"}]
        assert ready["outputs"] == [{"name": "probs", "shape": [None, 3], "dtype": "float32"}]
        assert ready["source"] == f"onnx-models/{doc['_id']}" and ready["model_name"] == "mlp"
        x = np.random.default_rng(3).normal(size=(6, 4)).astype(np.float32)
        expected = reference(onnx_files["mlp"], {"x": x})[0]
        status, body = await predict(http, srv.url, "mlp", {"instances": [{"x": row.tolist()} for row in x]})
        assert status == 200
        assert np.abs(np.asarray(body["predictions"]) - expected).max() <= TOLERANCE
        # One-input models take bare rows too; the custom method through X-Service-Method
        headers = {"X-Service-Method": "predict"}
        async with http.post(f"{srv.url}/endpoints", json={"endpoint": "mlp", "instances": x.tolist()},
                             headers=headers) as r:
            assert r.status == 200
            assert np.abs(np.asarray((await r.json())["predictions"]) - expected).max() <= TOLERANCE
        # ... and over socket.io, with the endpoint in the data or in the query
        sio = await SocketClient(srv.url).connect()
        try:
            answer = await sio.call("predict", "endpoints", {"endpoint": "mlp", "instances": x.tolist()})
            assert np.abs(np.asarray(answer["predictions"]) - expected).max() <= TOLERANCE
            answer = await sio.call("predict", "endpoints", {"instances": x[:2].tolist()}, {"endpoint": "mlp"})
            assert np.abs(np.asarray(answer["predictions"]) - expected[:2]).max() <= TOLERANCE
        finally:
            await sio.close()
        # Columnar ("raw") form: {"inputs": {...}} → {"outputs": {...}}
        status, body = await predict(http, srv.url, "mlp", {"inputs": {"x": x.tolist()}})
        assert status == 200 and np.abs(np.asarray(body["outputs"]["probs"]) - expected).max() <= TOLERANCE


async def test_values_of_every_kind(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        for key in ("cnn", "two", "text", "sparse"):
            doc = await upload_onnx(http, srv.url, onnx_files[key], key)
            assert (await create_endpoint(http, srv.url, watch, key, doc["_id"]))["status"] == "ready"
        # Images: base64 PNGs decoded with Pillow, resized to the input's 8x8, RGB; a bare base64 string too
        rng = np.random.default_rng(4)
        small = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        big = rng.integers(0, 256, size=(16, 12, 3), dtype=np.uint8)
        status, body = await predict(http, srv.url, "cnn", {"instances": [{"image": {"b64": png_b64(small)}},
                                                                          {"b64": png_b64(big)}, png_b64(small)]})
        assert status == 200, body
        resized = np.asarray(Image.fromarray(big).resize((8, 8), Image.Resampling.BILINEAR), dtype=np.float32)
        pixels = np.stack([small.astype(np.float32), resized, small.astype(np.float32)])
        assert np.abs(np.asarray(body["predictions"]) - reference(onnx_files["cnn"], {"image": pixels})[0]).max() \
            <= TOLERANCE
        # Two inputs, two outputs: {output: row} per instance
        a, b = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(2, 2, 2)).astype(np.float32)
        status, body = await predict(http, srv.url, "two", {"instances": [{"a": a[i].tolist(), "b": b[i].tolist()}
                                                                          for i in range(2)]})
        total, scaled = reference(onnx_files["two"], {"a": a, "b": b})
        assert status == 200 and set(body["predictions"][0]) == {"sum", "scaled"}
        assert np.abs(np.asarray([p["sum"] for p in body["predictions"]]) - total).max() <= TOLERANCE
        assert np.abs(np.asarray([p["scaled"] for p in body["predictions"]]) - scaled).max() <= TOLERANCE
        # Lists of strings
        status, body = await predict(http, srv.url, "text", {"instances": [["hello", "nope"], ["plume", "world"]]})
        assert status == 200 and body["predictions"] == [[1.0, 0.0], [3.0, 2.0]]
        # Sparse tensors: [indices (ndim x nnz), values, shape], and the object forms
        triple = [[[0, 1, 4], [0, 2, 5]], [101, 102, 103], [5, 10]]
        status, body = await predict(http, srv.url, "sparse", {"instances": [
            triple, {"sparse": triple}, {"indices": triple[0], "values": [1, 2, 3], "shape": [5, 10]}]})
        assert status == 200 and body["predictions"] == [[306.0], [306.0], [6.0]]


async def test_top_n_answers_labels_sorted(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        doc = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp", metadata={"labels": ["cat", "dog", "cow"]})
        await create_endpoint(http, srv.url, watch, "top", doc["_id"], top_n=2)
        x = np.random.default_rng(5).normal(size=(3, 4)).astype(np.float32)
        probs = reference(onnx_files["mlp"], {"x": x})[0]
        status, body = await predict(http, srv.url, "top", {"instances": x.tolist()})
        assert status == 200
        for row, answer in zip(probs, body["predictions"], strict=True):
            best = np.argsort(-row)[:2]
            assert list(answer) == [["cat", "dog", "cow"][i] for i in best]
            assert np.allclose(list(answer.values()), row[best], atol=TOLERANCE)
        # The endpoint's own labels win ({name: index} like the registry's)
        after = watch.seen("top")
        async with http.patch(f"{srv.url}/endpoints/top", json={"labels": {"a": 0, "b": 1, "c": 2}, "top_n": 1}) as r:
            assert r.status == 200 and (await r.json())["status"] == "creating"
        await watch.status("top", ("ready",), after=after)
        status, body = await predict(http, srv.url, "top", {"instances": x[:1].tolist()})
        assert list(body["predictions"][0]) == [["a", "b", "c"][int(np.argmax(probs[0]))]]


class GatedSession:
    """An onnxruntime session whose first run waits for :attr:`gate`: the endpoint's one replica stays
    busy with a first request while the test queues others behind it (no timing involved)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.entered = threading.Event()
        self.gate = threading.Event()

    def run(self, names: Any, feeds: dict[str, np.ndarray]) -> Any:
        if not self.entered.is_set():
            self.entered.set()
            self.gate.wait(60)
        return self.session.run(names, feeds)


async def until(condition: Callable[[], bool], timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


async def test_concurrent_requests_are_stacked_into_one_run(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    waiting = 8
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        doc = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp")
        assert (await create_endpoint(http, srv.url, watch, "batched", doc["_id"], replicas=1))["status"] == "ready"
        deployment = srv.app.extensions.get(Deployments).loaded["batched"]
        gated = GatedSession(deployment.sessions[0])
        deployment.sessions[0] = gated
        x = np.random.default_rng(6).normal(size=(waiting + 1, 4)).astype(np.float32)

        def one(i: int) -> asyncio.Task[tuple[int, Any]]:
            return asyncio.create_task(predict(http, srv.url, "batched", {"instances": [x[i].tolist()]}))

        first = one(0)
        try:
            assert await asyncio.to_thread(gated.entered.wait, 60)  # the replica runs the first request
            others = [one(i) for i in range(1, waiting + 1)]
            await until(lambda: deployment.batcher.waiting == waiting)  # all queued behind it
        finally:
            gated.gate.set()
        answers = await asyncio.gather(first, *others)
        expected = reference(onnx_files["mlp"], {"x": x})[0]
        for i, (status, body) in enumerate(answers):
            assert status == 200, body
            assert np.abs(np.asarray(body["predictions"]) - expected[i:i + 1]).max() <= TOLERANCE  # its own row
        # Nine HTTP requests, two session.run calls: the first alone, then the eight that queued, stacked
        assert deployment.batcher.stats == BatchStats(runs=2, rows=waiting + 1, largest=waiting)
