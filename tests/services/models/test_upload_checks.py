"""Model uploads are checked on arrival: a file that is not the model its field name says is a 400
naming the problem, and nothing of the upload is kept (blobs, upload-owner records).

Good files are real: Keras 3 and tf-keras models saved by Keras, and the TF.js and ONNX files the
conversion child made from one of them.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from backend.hooks import Params
from services.files.ownership import UploadOwners
from tests.auth.support import auth_server
from tests.services.files.support import form, post_form, stored_files
from tests.services.files.test_ownership import headers
from tests.support.inprocess import Running, running
from tests.support.model_files import keras_zip

ONNX_JUNK = ("onnxruntime cannot load it: [ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Failed to load model "
             "because protobuf parsing failed.")


def zip_of(**entries: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name.replace("_", "."), content)
    return buffer.getvalue()


def truncated(path: str) -> tuple[bytes, str]:
    """The first half of a real .h5 file, and what the server says of it."""
    data = Path(path).read_bytes()
    half = data[: len(data) // 2]
    return half, f"it is truncated ({len(half)} of its {len(data)} bytes)"


def hostile_cases(models: dict[str, Any]) -> list[tuple[str, str, str, bytes, str]]:
    """(service, field, file name, content, the message's end) of each refused upload."""
    h5, h5_why = truncated(models["k3_dense_h5"]["file"])
    return [
        ("keras-models", "model.keras", "notes.keras", b"a text file named model.keras\n",
         "is not a .keras model: it is not a zip archive (a .keras file is one)"),
        ("keras-models", "model.keras", "m.keras", zip_of(metadata_json=b'{"keras_version": "3.15.1"}'),
         "is not a .keras model: its zip archive has no config.json (the Keras model config of a .keras file)"),
        ("keras-models", "model.keras", "m.keras", zip_of(config_json=b"{not json"),
         "is not a .keras model: its config.json is unreadable: Expecting property name enclosed in double "
         "quotes: line 1 column 2 (char 1)"),
        ("keras-models", "model.keras", "m.keras", zip_of(config_json=b"[1, 2]"),
         "is not a .keras model: its config.json is not a JSON object"),
        ("keras-models", "model.h5", "cut.h5", h5, f"is not an HDF5 (.h5) model: {h5_why}"),
        ("keras-models", "model.h5", "text.h5", b"a text file named model.h5\n",
         "is not an HDF5 (.h5) model: it is not an HDF5 file (no HDF5 signature)"),
        ("onnx-models", "model.onnx", "junk.onnx", b"\x00junk that is no protobuf" * 8,
         f"is not an ONNX model: {ONNX_JUNK}"),
        ("tfjs-models", "model.json", "model.json", b"{not json",
         "is not a TF.js model.json: it is not JSON (Expecting property name enclosed in double quotes: "
         "line 1 column 2 (char 1))"),
        ("tfjs-models", "model.json", "model.json", b'{"format": "layers-model", "weightsManifest": []}',
         "is not a TF.js model.json: it has no modelTopology (the model's structure in a TF.js model.json)"),
    ]


async def test_hostile_uploads_are_refused_and_nothing_is_kept(server: Running, tmp_path: Path,
                                                               models: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as http:
        for service, field, filename, content, why in hostile_cases(models):
            status, body = await post_form(http, f"{server.url}/{service}/upload", (field, filename, content))
            assert status == 400 and body["name"] == "BadRequest", body
            assert body["message"] == f"File {filename!r} (field {field!r}) {why}"
            assert body["errors"] == {field: why}
            assert stored_files(tmp_path) == []


async def test_one_bad_file_refuses_the_whole_upload(server: Running, tmp_path: Path,
                                                     converted: dict[str, Path]) -> None:
    async with aiohttp.ClientSession() as http:
        status, body = await post_form(http, f"{server.url}/tfjs-models/upload",
                                       ("model.json", "model.json", b"[]"),
                                       ("group1-shard1of1.bin", "w.bin", converted["shard"].read_bytes()))
    assert status == 400 and body["message"].startswith("File 'model.json' (field 'model.json') is not a TF.js")
    assert stored_files(tmp_path) == []


async def test_real_models_are_accepted(server: Running, models: dict[str, Any], converted: dict[str, Path]) -> None:
    uploads = [("keras-models", [(f"model{Path(models[n]['file']).suffix}", Path(models[n]["file"]).name,
                                  Path(models[n]["file"]).read_bytes())])
               for n in ("k3_dense", "k3_dense_h5", "tfk_dense", "tfk_conv_keras")]
    uploads += [("onnx-models", [("model.onnx", "net.onnx", converted["onnx"].read_bytes())]),
                ("tfjs-models", [("model.json", "model.json", converted["model.json"].read_bytes()),
                                 (converted["shard"].name, converted["shard"].name, converted["shard"].read_bytes())])]
    async with aiohttp.ClientSession() as http:
        for service, parts in uploads:
            status, pairs = await post_form(http, f"{server.url}/{service}/upload", *parts)
            assert status == 200, (service, pairs)
            assert [p[0] for p in pairs] == [name for _, name, _ in parts]


async def test_large_files_are_checked_from_a_scratch_copy(tmp_path: Path) -> None:
    """Past 1 MiB a file is copied out of the blob store and checked in a thread; the copy is removed."""
    big = bytes(range(256)) * 8192  # 2 MiB
    data = tmp_path / "data"
    async with running(data) as srv, aiohttp.ClientSession() as http:
        status, body = await post_form(http, f"{srv.url}/keras-models/upload",
                                       ("model.keras", "big.keras", zip_of(model_weights_h5=big)))
        why = "is not a .keras model: its zip archive has no config.json (the Keras model config of a .keras file)"
        assert status == 400 and body["errors"] == {"model.keras": why}
        good = zip_of(config_json=json.dumps({"class_name": "Sequential"}).encode(), model_weights_h5=big)
        status, pairs = await post_form(http, f"{srv.url}/keras-models/upload", ("model.keras", "big.keras", good))
        assert status == 200, pairs
    assert [p for p in stored_files(data) if "/tmp/" in f"/{p}"] == []  # no scratch copy left
    assert stored_files(data) == [f"files/keras-models/{pairs[0][1]}"]


async def test_a_refused_upload_records_no_owner(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors), aiohttp.ClientSession() as http:
        owners = srv.app.extensions.get(UploadOwners)
        a = actors["editorA"]
        async with http.post(f"{srv.url}/keras-models/upload", headers=headers(a),
                             data=form(("model.keras", "m.keras", b"not a zip"))) as r:
            assert r.status == 400
        assert await owners.adapter.find(Params(query={})) == []
        async with http.post(f"{srv.url}/keras-models/upload", headers=headers(a),
                             data=form(("model.keras", "m.keras", keras_zip()))) as r:
            assert r.status == 200
            folder = (await r.json())[0][1].split("/")[0]
        records = await owners.adapter.find(Params(query={}))
        assert [(d["_id"], d["userId"]) for d in records] == [(f"keras-models/{folder}", a.id)]


@pytest.mark.parametrize("field", ["model.weights.bin", "group1-shard1of1.bin"])
async def test_weight_files_are_not_checked(server: Running, field: str) -> None:
    async with aiohttp.ClientSession() as http:
        status, _ = await post_form(http, f"{server.url}/tfjs-models/upload", (field, field, b"any bytes"))
    assert status == 200
