"""Bad requests get a clear Feathers 4xx, and the endpoint (and the others) keep serving."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from tests.auth.support import outcome
from tests.conformance.clients import SocketClient
from tests.services.files.support import post_form
from tests.services.registry.support import Registry
from tests.support.inprocess import running

from .support import EndpointWatcher, create_endpoint, predict, upload_onnx

GOOD = {"instances": [[0.1, 0.2, 0.3, 0.4]]}


async def test_bad_predictions_are_4xx_and_serving_goes_on(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        mlp = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp")
        cnn = await upload_onnx(http, srv.url, onnx_files["cnn"], "cnn")
        two = await upload_onnx(http, srv.url, onnx_files["two"], "two")
        for name, doc in (("mlp", mlp), ("cnn", cnn), ("two", two)):
            await create_endpoint(http, srv.url, watch, name, doc["_id"])
        cases: list[tuple[str, Any, int, str]] = [
            ("mlp", {"instances": [[1, 2]]}, 400, "shape (2,) does not fit input 'x' (4,) float32"),
            ("mlp", {"instances": [[1, 2, 3, 4], [1, 2, 3]]}, 400, "shape (3,) does not fit"),
            ("mlp", {"instances": [[[1, 2, 3, 4]]]}, 400, "does not fit input 'x'"),
            ("mlp", {"instances": [["a", "b", "c", "d"]]}, 400, "input 'x' takes numbers, got text"),
            ("mlp", {"instances": [{"x": [1, 2, 3, 4], "y": [1]}]}, 400, "unknown input(s) y"),
            ("mlp", {"instances": []}, 400, "instances must be a non-empty list"),
            ("mlp", {"instances": "nope"}, 400, "instances must be a non-empty list"),
            ("mlp", {"rows": [1]}, 400, "the body needs \"instances\""),
            ("mlp", [1, 2], 400, "the body must be an object"),
            ("two", {"instances": [{"a": [1, 2, 3]}]}, 400, "instance 0 lacks input 'b'"),
            ("two", {"instances": [[1, 2, 3]]}, 400, "must be an object with the model's inputs"),
            ("cnn", {"instances": [{"b64": base64.b64encode(b"not an image").decode()}]}, 400, "undecodable image"),
            ("cnn", {"instances": [{"b64": "%%% not base64 %%%"}]}, 400, "not valid base64"),
            ("cnn", {"instances": [{"image": {"colour": 1}}]}, 400, "an object value is"),
            ("mlp", {"instances": [[[[0, 9]], [1, 2], [4]]]}, 400, "sparse index is outside the shape"),
            ("mlp", {"instances": [[[[0, 1], [0, 2]], [1, 2], [4]]]}, 400, "sparse indices must be ndim x nnz"),
            ("nope", GOOD, 404, "Endpoint 'nope' not found"),
        ]
        for name, body, code, text in cases:
            status, answer = await predict(http, srv.url, name, body)
            assert (status, answer["code"]) == (code, code) and text in answer["message"], (body, answer)
        async with http.post(f"{srv.url}/endpoints/mlp/predict", data=b"{not json",
                             headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400 and (await r.json())["name"] == "BadRequest"
        # A 100 MB body: 413 (max_body), nothing else breaks
        huge = b'{"instances": [' + b"[0.1, 0.2, 0.3, 0.4]," * (100 * 1024 * 1024 // 21) + b"[1, 2, 3, 4]]}"
        async with http.post(f"{srv.url}/endpoints/mlp/predict", data=huge,
                             headers={"Content-Type": "application/json"}) as r:
            assert r.status == 413 and (await r.json())["name"] == "PayloadTooLarge"
        # Over socket.io too
        sio = await SocketClient(srv.url).connect()
        try:
            for data, code in (({"endpoint": "nope", **GOOD}, 404), ({"instances": [[1]]}, 400),
                               ({"endpoint": "mlp", "instances": [[1]]}, 400)):
                got, error = await outcome(sio, "predict", "endpoints", data)
                assert got == code and error["code"] == code, (data, error)
        finally:
            await sio.close()
        # Still serving, this endpoint and the others
        status, body = await predict(http, srv.url, "mlp", GOOD)
        assert status == 200 and len(body["predictions"]) == 1
        status, body = await predict(http, srv.url, "two", {"instances": [{"a": [1, 2, 3], "b": [[1, 2], [3, 4]]}]})
        assert status == 200 and np.asarray(body["predictions"][0]["scaled"]).tolist() == [2, 4, 6]


async def test_bad_endpoints_are_refused(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        mlp = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp")
        await create_endpoint(http, srv.url, watch, "mlp", mlp["_id"])
        # An upload that is not ONNX never becomes a model
        status, body = await post_form(http, f"{srv.url}/onnx-models/upload", ("model.onnx", "x.onnx", b"not onnx"))
        assert status == 400 and "is not an ONNX model" in body["message"]
        # A Keras model without an ONNX conversion cannot be served
        status, files = await post_form(http, f"{srv.url}/keras-models/upload", ("model.h5", "m.h5", _tiny_h5()))
        assert status == 200, files
        async with http.post(f"{srv.url}/keras-models", json={"name": "k", "files": files, "convert": []}) as r:
            keras_doc = await r.json()
        cases = [
            ({"name": "mlp", "model": mlp["_id"]}, 409),  # names are unique
            ({"name": "bad name!", "model": mlp["_id"]}, 400),
            ({"name": "x", "model": "no-such-model"}, 404),
            ({"name": "x", "model": "onnx-models/0123456789abcdef01234567"}, 404),
            ({"name": "x", "model": ""}, 400),
            ({"name": "x", "model": mlp["_id"], "replicas": 0}, 400),
            ({"name": "x", "model": mlp["_id"], "top_n": -1}, 400),
            ({"name": "x", "model": mlp["_id"], "gpu_required": True}, 422),  # no GPU provider here
            ({"name": "x", "model": f"keras-models/{keras_doc['_id']}"}, 422),
        ]
        for body, code in cases:
            async with http.post(f"{srv.url}/endpoints", json=body) as r:
                answer = await r.json()
                assert r.status == code, (body, answer)
        for patch, code in (({"status": "ready"}, 400), ({"name": "other"}, 400), ({"inputs": []}, 200)):
            async with http.patch(f"{srv.url}/endpoints/mlp", json=patch) as r:
                assert r.status == code, (patch, await r.json())
        async with http.get(f"{srv.url}/endpoints/mlp") as r:
            doc = await r.json()
        assert doc["status"] == "ready" and doc["inputs"][0]["name"] == "x"  # server fields untouched
        status, _ = await predict(http, srv.url, "mlp", GOOD)
        assert status == 200


async def test_a_registry_model_that_cannot_serve_is_refused_up_front(tmp_path: Path,
                                                                      onnx_files: dict[str, Path]) -> None:
    async with (running(tmp_path) as srv, aiohttp.ClientSession() as http, Registry(srv.url) as reg,
                EndpointWatcher(srv.url) as watch):
        bare = await reg.model(name="bare")  # no weights at all
        torch = await reg.model(name="torch")
        assert (await reg.version(torch["_id"], b"a pickled state dict", "w.pt")).status == 201
        keras = await reg.model(name="keras", convert=[])  # a Keras file nobody converts
        assert (await reg.version(keras["_id"], _tiny_h5(), "w.h5")).status == 201
        remote = await reg.model(name="remote")  # ONNX, but stored elsewhere: Plume cannot read it
        answer = await reg.call("POST", "/model-versions", {"model": remote["_id"], "uri": "s3://bucket/w.onnx"})
        assert answer.status == 201, answer.body
        cases = [(bare, "registry model bare has no weights yet"),
                 (torch, "registry model torch: its latest version (w.pt) is neither an ONNX file"),
                 (keras, "(w.h5) is neither an ONNX file Plume stores nor a Keras model converted to ONNX"),
                 (remote, "(w.onnx) is neither an ONNX file Plume stores")]
        for model, text in cases:
            for ref in (f"models/{model['_id']}", model["name"]):
                async with http.post(f"{srv.url}/endpoints", json={"name": "x", "model": ref}) as r:
                    body = await r.json()
                    assert (r.status, body["name"]) == (422, "Unprocessable"), (ref, body)
                    assert "cannot be served" in body["message"] and text in body["message"], body
                    assert text in body["errors"]["model"]
        # Nothing was stored: the next endpoint's events come, and none of "x" before them
        onnx = await reg.model(name="onnx")
        assert (await reg.version(onnx["_id"], onnx_files["mlp"].read_bytes(), "w.onnx")).status == 201
        ready = await create_endpoint(http, srv.url, watch, "served", f"models/{onnx['_id']}")
        assert ready["status"] == "ready" and ready["source"].startswith("model-versions/")
        assert watch.seen("x") == 0
        async with http.get(f"{srv.url}/endpoints/x") as r:
            assert r.status == 404


def _tiny_h5() -> bytes:
    """The smallest file the upload check takes as HDF5: its signature and a version-0 superblock."""
    sig = b"\x89HDF\r\n\x1a\n"
    superblock = bytes([0, 0, 0, 0, 0, 8, 8, 0]) + bytes(8) + b"\xff" * 8 * 2 + (96).to_bytes(8, "little")
    return (sig + superblock).ljust(96, b"\0")
