"""``plume models list|show|download``: the real command (a subprocess) against a real server holding a
Keras model it converted to ONNX (TensorFlow runs in a subprocess and in the server's worker, never
here), a plain ONNX model, and, while no registry plugin serves ``models``, registry-like records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest

from python_client import DataStore, FilePart, Remote
from tests.support.cli import plume
from tests.support.model_files import tiny_onnx
from tests.support.server import REPO, PlumeProcess

BUILD = """
import sys, keras
keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")]).save(sys.argv[1])
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PlumeProcess, dict[str, Any]]]:
    """A server with ``dense`` (keras-models, converted to ONNX) and ``tiny`` (onnx-models)."""
    folder = tmp_path_factory.mktemp("files")
    keras_file, onnx_file = folder / "dense.keras", folder / "tiny.onnx"
    built = subprocess.run([sys.executable, "-c", BUILD, str(keras_file)], cwd=REPO, capture_output=True, text=True,
                           timeout=240, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert built.returncode == 0, built.stderr[-3000:]
    onnx_file.write_bytes(tiny_onnx())
    with PlumeProcess(tmp_path_factory.mktemp("server")) as srv:
        remote = Remote(srv.url, save_format="keras")
        keras = remote.store.service("keras-models")
        dense = keras.create({"name": "dense", "files": keras.upload([FilePart.of(keras_file, field="model.keras")]),
                              "convert": ["onnx"]})
        conversions = remote.wait_for_conversion(dense["_id"], formats=("onnx",), timeout=240)
        onnx = remote.store.service("onnx-models")
        tiny = onnx.create({"name": "tiny", "format": "onnx",
                            "files": onnx.upload([FilePart.of(onnx_file, field="model.onnx")])})
        remote.close()
        yield srv, {"dense": dense, "converted": conversions["onnx"]["modelId"], "tiny": tiny,
                    "tiny_bytes": onnx_file.read_bytes(), "keras_bytes": keras_file.read_bytes()}


def models(srv: PlumeProcess, *args: str | Path) -> tuple[int, str, str]:
    proc = plume("models", *args, "--url", srv.url)
    return proc.returncode, proc.stdout, proc.stderr


def test_list_every_model_service(server: tuple[PlumeProcess, dict[str, Any]]) -> None:
    srv, made = server
    status, out, err = models(srv, "list")
    assert status == 0 and err == ""
    header, *rows = out.splitlines()
    assert header.split() == ["SERVICE", "NAME", "FORMAT", "STATUS", "CREATED", "(UTC)", "ID"]
    cells = {row.split()[-1]: row.split()[:-3] for row in rows}  # by id: the cells before the date
    assert cells[made["dense"]["_id"]] == ["keras-models", "dense", "keras", "onnx", "done"]
    assert cells[made["converted"]] == ["onnx-models", "dense", "onnx", "from", "keras-models", made["dense"]["_id"]]
    assert cells[made["tiny"]["_id"]] == ["onnx-models", "tiny", "onnx", "-"]
    status, out, _ = models(srv, "list", "--service", "keras-models", "--json")
    assert status == 0 and [(m["service"], m["name"]) for m in json.loads(out)] == [("keras-models", "dense")]


def test_show(server: tuple[PlumeProcess, dict[str, Any]]) -> None:
    srv, made = server
    dense_id = made["dense"]["_id"]
    status, out, err = models(srv, "show", "dense")  # the Keras model, not the ONNX one converted from it
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[:5] == ["model    dense", f"id       {dense_id}", "service  keras-models", "format   keras",
                         "status   onnx done"]
    assert lines[lines.index("conversions") + 1] == f"  onnx  done: {made['converted']}"
    assert lines[lines.index("files (1)") + 1].startswith("  dense.keras  ")
    status, out, _ = models(srv, "show", made["converted"], "--json")
    shown = json.loads(out)
    assert status == 0 and shown["service"] == "onnx-models" and shown["source"] == dense_id


def test_download(server: tuple[PlumeProcess, dict[str, Any]], tmp_path: Path) -> None:
    srv, made = server
    status, out, err = models(srv, "download", "dense", "--format", "onnx", "--to", tmp_path / "onnx")
    assert status == 0 and err == "" and out == f"{tmp_path / 'onnx' / 'model.onnx'}\n"
    session = onnxruntime.InferenceSession(str(tmp_path / "onnx" / "model.onnx"))
    (result,) = session.run(None, {session.get_inputs()[0].name: np.ones((1, 4), np.float32)})
    assert result.shape == (1, 3) and abs(float(result.sum()) - 1.0) < 1e-5  # a softmax
    status, out, _ = models(srv, "download", "dense", "--to", tmp_path / "keras")
    assert status == 0 and (tmp_path / "keras" / "dense.keras").read_bytes() == made["keras_bytes"]
    status, out, _ = models(srv, "download", "tiny", "--to", tmp_path / "tiny", "--json")
    assert status == 0 and json.loads(out) == [str(tmp_path / "tiny" / "tiny.onnx")]
    assert (tmp_path / "tiny" / "tiny.onnx").read_bytes() == made["tiny_bytes"]


def test_what_users_get_wrong(server: tuple[PlumeProcess, dict[str, Any]], tmp_path: Path) -> None:
    srv, made = server
    dense_id, tiny_id = made["dense"]["_id"], made["tiny"]["_id"]
    assert models(srv, "show", "nope") == (1, "", f"plume models: no model 'nope' on {srv.url} (no model in "
                                                  "tfjs-models, onnx-models, keras-models, models has that id or "
                                                  "name; plume models list shows them)\n")
    assert models(srv, "download", "dense", "--format", "tfjs", "--to", tmp_path) == (
        1, "", f"plume models: the tfjs conversion of keras-models {dense_id} was not asked for "
               f"(plume models show {dense_id})\n")
    assert models(srv, "download", "tiny", "--format", "tfjs", "--to", tmp_path) == (
        1, "", f"plume models: --format tfjs is for keras-models (their server-side conversions); onnx-models "
               f"{tiny_id} is already onnx\n")
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert models(srv, "list", "--service", "model") == (
        1, "", f"plume models: {srv.url} has no model service 'model' (it has: tfjs-models, onnx-models, "
               "keras-models, models)\n")


def test_registry_models_are_listed_when_the_server_has_them(server: tuple[PlumeProcess, dict[str, Any]]) -> None:
    srv, _ = server
    with DataStore(srv.url) as store:
        assert "models" in store.info()["services"]  # the registry is a built-in plugin
        store.service("models").create({"name": "resnet", "framework": "pytorch", "tags": ["production"]})
        expected = store.service("models").find({"query": {"$sort": {"createdAt": -1}, "$limit": 1}})["data"]
    status, out, err = models(srv, "list", "--service", "models")
    assert status == 0 and err == ""
    rows = out.splitlines()[1:]
    assert len(rows) >= 1 and rows[0].split()[0] == "models" and rows[0].split()[-1] == expected[0]["_id"]
    status, out, _ = models(srv, "list")
    assert status == 0 and expected[0]["_id"] in out
