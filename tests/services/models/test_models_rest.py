"""``tfjs-models``/``onnx-models``/``keras-models`` over REST: Marcelle's reply shapes, downloads, cleanup."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from tests.services.files.support import post_form, post_raw, raw_multipart, stored_files
from tests.support.inprocess import Running, running
from tests.support.model_files import keras_zip, tiny_onnx

MODEL_JSON = json.dumps({"modelTopology": {}, "weightsManifest": [{"paths": ["model.weights.bin"]}]}).encode()
WEIGHTS = bytes(range(256)) * 40
ONNX = tiny_onnx()
KERAS = keras_zip()


async def _create(http: aiohttp.ClientSession, url: str, doc: dict) -> dict:
    async with http.post(url, json=doc) as r:
        body = await r.json()
        assert r.status == 201, body
        return body


async def test_tfjs_round_trip(server: Running, tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as http:
        status, pairs = await post_form(http, f"{server.url}/tfjs-models/upload",
                                        ("model.json", "model.json", MODEL_JSON),
                                        ("model.weights.bin", "model.weights.bin", WEIGHTS),
                                        ("notes.txt", "notes.txt", b"ignored"))
        assert status == 200
        folder = pairs[0][1].split("/")[0]
        assert pairs == [["model.json", f"{folder}/model.json"], ["model.weights.bin", f"{folder}/model.weights.bin"]]
        doc = await _create(http, f"{server.url}/tfjs-models",
                            {"name": "m", "files": pairs, "format": "tfjs", "metadata": {"a": 1}, "extra": True})
        assert doc["files"] == pairs and doc["extra"] is True and "createdAt" in doc
        async with http.get(f"{server.url}/tfjs-models/{doc['_id']}/model.json") as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/json"
            assert await r.read() == MODEL_JSON
            assert r.headers["Cache-Control"] == "no-cache" and r.headers["ETag"]
        async with http.get(f"{server.url}/tfjs-models/{doc['_id']}/model.weights.bin",
                            headers={"Range": "bytes=-16"}) as r:
            assert r.status == 206 and await r.read() == WEIGHTS[-16:]
            assert r.headers["Content-Type"] == "application/octet-stream"
        async with http.get(f"{server.url}/tfjs-models/{doc['_id']}/other.bin") as r:
            assert r.status == 404
        async with http.get(f"{server.url}/tfjs-models/0123456789abcdef01234567/model.json") as r:
            assert r.status == 404

        # Replacing the files deletes the old ones; removing the model deletes the rest.
        _, new_pairs = await post_form(http, f"{server.url}/tfjs-models/upload",
                                       ("model.json", "model.json", MODEL_JSON),
                                       ("group1-shard1of1.bin", "group1-shard1of1.bin", WEIGHTS[:10]))
        async with http.patch(f"{server.url}/tfjs-models/{doc['_id']}", json={"files": new_pairs}) as r:
            assert r.status == 200
        assert all(folder not in p for p in stored_files(tmp_path))
        async with http.get(f"{server.url}/tfjs-models/{doc['_id']}/group1-shard1of1.bin") as r:
            assert await r.read() == WEIGHTS[:10]
        async with http.delete(f"{server.url}/tfjs-models/{doc['_id']}") as r:
            assert r.status == 200
    assert stored_files(tmp_path) == []


async def test_onnx_round_trip_and_update(server: Running, tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as http:
        status, pairs = await post_form(http, f"{server.url}/onnx-models/upload", ("model.onnx", "net.onnx", ONNX))
        assert status == 200 and pairs == [["net.onnx", f"{pairs[0][1].split('/')[0]}/model.onnx"]]
        doc = await _create(http, f"{server.url}/onnx-models", {"name": "n", "files": pairs, "format": "onnx"})
        async with http.get(f"{server.url}/onnx-models/{doc['_id']}/net.onnx") as r:
            assert r.status == 200 and await r.read() == ONNX
        _, other = await post_form(http, f"{server.url}/onnx-models/upload", ("m.onnx", "m.onnx", tiny_onnx("z")))
        async with http.put(f"{server.url}/onnx-models/{doc['_id']}", json={"files": other, "format": "onnx"}) as r:
            assert r.status == 200
        assert stored_files(tmp_path) == [f"files/onnx-models/{other[0][1]}"]  # the replaced file is gone
        async with http.delete(f"{server.url}/onnx-models/{doc['_id']}") as r:
            assert r.status == 200
    assert stored_files(tmp_path) == []


@pytest.mark.parametrize(
    ("service", "parts", "status", "message"),
    [
        ("tfjs-models", [("weights.dat", "w.dat", b"x")], 400, "No model file"),
        ("onnx-models", [("model.json", "model.json", b"x")], 400, "No model file"),
        ("keras-models", [("model.onnx", "model.onnx", b"x")], 400, "No model file"),
        ("tfjs-models", [("../shard1.bin", "shard1.bin", b"x")], 400, "field name"),
        ("onnx-models", [("m.onnx", "../../m.onnx", b"x")], 400, "file name"),
        ("onnx-models", [("m.onnx", "m.onnx", b"")], 400, "empty"),
        ("tfjs-models", [("model.json", "model.json", b"{}"), ("model.weights.bin", "w.bin", b"")], 400, "empty"),
    ],
)
async def test_bad_model_uploads(server: Running, tmp_path: Path, service: str, parts: list, status: int,
                                 message: str) -> None:
    async with aiohttp.ClientSession() as http:
        code, body = await post_raw(http, f"{server.url}/{service}/upload", raw_multipart(parts))
    assert code == status and message in body["message"], body
    assert stored_files(tmp_path) == []


async def test_oversize_and_truncated_model_uploads(tmp_path: Path) -> None:
    async with running(tmp_path, config="[uploads]\nmax_size = 5000\n") as srv, aiohttp.ClientSession() as http:
        code, body = await post_form(http, f"{srv.url}/tfjs-models/upload", ("model.json", "model.json", b"{}"),
                                     ("model.weights.bin", "model.weights.bin", WEIGHTS))
        assert code == 413 and body["name"] == "PayloadTooLarge"
        truncated = raw_multipart([("model.onnx", "model.onnx", WEIGHTS[:4000])], close=False)[:-100]
        code, body = await post_raw(http, f"{srv.url}/onnx-models/upload", truncated)
        assert code == 400 and body["name"] == "BadRequest"
    assert stored_files(tmp_path) == []


async def test_documents_must_name_uploaded_files(server: Running) -> None:
    async with aiohttp.ClientSession() as http:
        _, asset = await post_form(http, f"{server.url}/assets/upload", ("a.png", "a.png", b"png"))
        _, onnx = await post_form(http, f"{server.url}/onnx-models/upload", ("m.onnx", "m.onnx", ONNX))
        bad_files = [
            [["model.json", "0123456789abcdef01234567/model.json"]],  # never uploaded
            [["a.png", asset["a.png"]]],  # another service's file
            [["m.onnx", onnx[0][1]]],  # an onnx file in tfjs-models
            [["x", "../../etc/passwd"]],
            [["x"]],
            "model.json",
        ]
        for files in bad_files:
            async with http.post(f"{server.url}/tfjs-models", json={"files": files}) as r:
                assert r.status == 400, files
        async with http.post(f"{server.url}/tfjs-models", json={"name": "no files"}) as r:
            assert r.status == 400


async def test_keras_document_without_conversion(server: Running, tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as http:
        code, pairs = await post_form(http, f"{server.url}/keras-models/upload", ("model.keras", "my.keras", KERAS))
        assert code == 200 and pairs[0][0] == "my.keras" and pairs[0][1].endswith("/model.keras")
        doc = await _create(http, f"{server.url}/keras-models", {"name": "k", "files": pairs, "convert": []})
        assert doc["format"] == "keras" and doc["conversions"] == {}
        async with http.get(f"{server.url}/keras-models/{doc['_id']}/my.keras") as r:
            assert r.status == 200 and await r.read() == KERAS
        # Clients cannot write the server's progress record.
        async with http.patch(f"{server.url}/keras-models/{doc['_id']}",
                              json={"conversions": {"tfjs": {"status": "done"}}, "note": 1}) as r:
            patched = await r.json()
            assert patched["conversions"] == {} and patched["note"] == 1
        for bad in ({"files": pairs, "convert": ["tflite"]}, {"files": [], "convert": ["onnx"]},
                    {"files": pairs, "format": "onnx"}):
            async with http.post(f"{server.url}/keras-models", json=bad) as r:
                assert r.status == 400, bad
        async with http.delete(f"{server.url}/keras-models/{doc['_id']}") as r:
            assert r.status == 200
    assert stored_files(tmp_path) == []
