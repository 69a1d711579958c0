"""``Remote.wait_for_conversion`` and ``Remote.download_converted`` with real server-side conversions.

The Keras models are built in a subprocess (the test process never imports TensorFlow); the
server converts them in its worker pool; the ONNX result runs in onnxruntime here. The timeout
case holds the in-process server's converter at a gate, so that the conversion cannot end.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from python_client import Remote
from python_client.errors import ConversionFailed, ConversionTimeout, NotFound
from python_client.multipart import FilePart
from services.models import ConversionManager
from tests.support.inprocess import running
from tests.support.server import REPO, PlumeProcess

BUILD = """
import sys, h5py, keras
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
model.save(sys.argv[1])
with h5py.File(sys.argv[2], "w") as f:  # an HDF5 file that holds no model
    f.create_dataset("weights", data=[1.0, 2.0])
"""


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``dense.keras`` (a real model) and ``broken.h5`` (HDF5, but no model in it)."""
    folder = tmp_path_factory.mktemp("keras")
    good, broken = folder / "dense.keras", folder / "broken.h5"
    proc = subprocess.run([sys.executable, "-c", BUILD, str(good), str(broken)], cwd=REPO, capture_output=True,
                          text=True, timeout=240, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return good, broken


def keras_doc(remote: Remote, path: Path, convert: list[str]) -> dict[str, Any]:
    """A ``keras-models`` document for the model file ``path`` that asks for ``convert`` only."""
    keras = remote.store.service("keras-models")
    files = keras.upload([FilePart.of(path, field=f"model{path.suffix}")])
    return keras.create({"name": path.stem, "files": files, "convert": convert})  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    with PlumeProcess(tmp_path_factory.mktemp("server")) as srv:
        remote = Remote(srv.url, save_format="keras")
        yield remote
        remote.close()


def test_wait_then_download_both_formats(remote: Remote, keras_files: tuple[Path, Path], tmp_path: Path) -> None:
    doc = remote.upload_keras_model(keras_files[0], {"labels": ["a", "b", "c"]})
    conversions = remote.wait_for_conversion(doc["_id"], timeout=240)
    assert {f: c["status"] for f, c in conversions.items()} == {"tfjs": "done", "onnx": "done"}
    assert remote.wait_for_conversion(doc["_id"], formats="onnx") == conversions  # ended already: at once

    tfjs = remote.download_converted(doc["_id"], "tfjs", tmp_path / "tfjs")  # the folder is made
    assert tfjs[0] == tmp_path / "tfjs" / "model.json" and len(tfjs) >= 2
    model_json = json.loads(tfjs[0].read_text())
    assert model_json["modelTopology"] and all(p.exists() for p in tfjs)
    (onnx_file,) = remote.download_converted(doc["_id"], "onnx", tmp_path / "onnx")
    assert onnx_file.name.endswith(".onnx")
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: np.ones((2, 4), dtype=np.float32)})
    assert out.shape == (2, 3) and np.allclose(out.sum(axis=1), 1.0, atol=1e-5)  # softmax rows


def test_a_failed_conversion_raises_with_its_reason(remote: Remote, keras_files: tuple[Path, Path]) -> None:
    doc = remote.upload_keras_model(keras_files[1])
    with pytest.raises(ConversionFailed) as info:
        remote.wait_for_conversion(doc["_id"], timeout=240)
    assert info.value.message.startswith(f"the server could not convert keras-models {doc['_id']}: tfjs: ")
    assert "; onnx: " in info.value.message
    assert {f: c["status"] for f, c in info.value.conversions.items()} == {"tfjs": "error", "onnx": "error"}
    with pytest.raises(NotFound) as missing:
        remote.download_converted(doc["_id"], "tfjs", "unused")
    assert missing.value.message == (f"no tfjs model converted from keras-models {doc['_id']} (yet): "
                                     f"wait_for_conversion('{doc['_id']}') first")


def test_formats_must_be_ones_the_document_asked_for(remote: Remote, keras_files: tuple[Path, Path]) -> None:
    doc = keras_doc(remote, keras_files[0], ["tfjs"])
    with pytest.raises(ValueError) as info:
        remote.wait_for_conversion(doc["_id"], formats=("onnx",))
    assert str(info.value) == f"keras-models {doc['_id']} has no onnx conversion (it was created with convert=['tfjs'])"
    with pytest.raises(ValueError) as info:
        remote.wait_for_conversion(doc["_id"], formats=("pickle",))
    assert str(info.value) == "conversion formats are tfjs and onnx, not 'pickle'"


async def test_the_wait_ends_at_its_timeout(tmp_path: Path, keras_files: tuple[Path, Path]) -> None:
    gate = asyncio.Event()  # never opened: the conversion cannot end

    async def held(job: Any) -> Any:
        await gate.wait()

    async with running(tmp_path) as srv:
        srv.app.extensions.get(ConversionManager).converter = held
        remote = Remote(srv.url, save_format="keras")
        try:
            doc = await asyncio.to_thread(keras_doc, remote, keras_files[0], ["tfjs"])
            with pytest.raises(ConversionTimeout) as info:
                await asyncio.to_thread(remote.wait_for_conversion, doc["_id"], ["tfjs"], 0.5)
        finally:
            await asyncio.to_thread(remote.close)
    status = info.value.conversions["tfjs"]["status"]
    assert status in ("pending", "running")
    assert info.value.message == (f"the conversions of keras-models {doc['_id']} had not ended after 0.5s "
                                  f"(tfjs {status}); they go on on the server: wait again later")
