"""End to end: Keras 3 and tf-keras models converted through the worker pool, then run for real.

ONNX output runs in onnxruntime and TF.js output in TF.js 4.22 under Node; both must match the
Keras predictions within 1e-5. One pool serves the whole module, so TensorFlow is imported once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from services.conversion import TFJS_LAYERS_MODEL, ConversionJob, ConversionPool

from .conftest import TOLERANCE, load_case, node_ready, onnx_predict, tfjs_predict

pytestmark = pytest.mark.asyncio(loop_scope="module")

MODEL_NAMES = [
    "k3_dense",
    "k3_dense_h5",
    "k3_conv",
    "k3_sequential_bn",
    "k3_two_inputs",
    "k3_residual",
    "k3_embedding_lstm",
    "k3_nested",
    "tfk_dense",
    "tfk_conv",
    "tfk_conv_keras",
    "tfk_sequential_bn",
    "tfk_two_inputs",
]

# Recorded before this module converts anything, to prove the pool never loads TensorFlow here.
HEAVY_MODULES = ("tensorflow", "keras", "tf_keras", "tf2onnx", "tensorflowjs")
HEAVY_LOADED_BEFORE = {name for name in HEAVY_MODULES if name in sys.modules}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[ConversionPool]:
    async with ConversionPool(workers=1, max_jobs_per_worker=100, job_timeout=120) as shared:
        await shared.start()
        yield shared


@pytest.mark.parametrize("name", MODEL_NAMES)
async def test_onnx_matches_keras(pool: ConversionPool, models: dict[str, Any], name: str, tmp_path: Path) -> None:
    info = models[name]
    result = await pool.convert(ConversionJob(info["file"], "onnx", tmp_path / "out"))
    assert result.ok, result.error
    assert result.tfjs_model_format is None
    assert result.files == [str(tmp_path / "out" / "model.onnx")]
    inputs, expected = load_case(info)
    (actual,) = onnx_predict(result.files[0], inputs)
    assert actual.shape == expected.shape
    assert float(np.max(np.abs(actual - expected))) <= TOLERANCE
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.onnx"]  # no staging left


@pytest.mark.skipif(not node_ready(), reason="node or tests/js/node_modules missing (cd tests/js && npm install)")
@pytest.mark.parametrize("name", MODEL_NAMES)
async def test_tfjs_loads_in_tfjs_and_matches_keras(
    pool: ConversionPool, models: dict[str, Any], name: str, tmp_path: Path
) -> None:
    info = models[name]
    out = tmp_path / "out"
    result = await pool.convert(ConversionJob(info["file"], "tfjs", out))
    assert result.ok, result.error
    assert result.tfjs_model_format == TFJS_LAYERS_MODEL
    assert result.files[0] == str(out / "model.json")
    assert all(Path(f).is_file() for f in result.files)
    model_json = json.loads((out / "model.json").read_text())
    assert model_json["format"] == "layers-model"
    shards = [p for group in model_json["weightsManifest"] for p in group["paths"]]
    assert [Path(f).name for f in result.files[1:]] == shards

    inputs, expected = load_case(info)
    (actual,) = tfjs_predict(out, inputs)
    assert actual.shape == expected.shape
    assert float(np.max(np.abs(actual - expected))) <= TOLERANCE


async def test_two_input_onnx_keeps_keras_input_names(
    pool: ConversionPool, models: dict[str, Any], tmp_path: Path
) -> None:
    import onnxruntime

    result = await pool.convert(ConversionJob(models["k3_two_inputs"]["file"], "onnx", tmp_path))
    assert result.ok, result.error
    session = onnxruntime.InferenceSession(result.files[0], providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape[1:]) for i in session.get_inputs()] == [("a", [3]), ("b", [5])]


@pytest.mark.parametrize(
    ("file_name", "content", "needle"),
    [
        ("garbage.keras", b"this is not a zip file", "not a valid .keras file"),
        ("garbage.h5", b"\x00" * 64, "not a valid HDF5"),
        ("model.txt", b"hello", "unsupported model file type"),
    ],
)
async def test_bad_file_fails_with_message_and_next_job_works(
    pool: ConversionPool, models: dict[str, Any], tmp_path: Path, file_name: str, content: bytes, needle: str
) -> None:
    bad = tmp_path / file_name
    bad.write_bytes(content)
    failed = await pool.convert(ConversionJob(bad, "tfjs", tmp_path / "bad-out"))
    assert not failed.ok
    assert failed.error_kind == "invalid_model"
    assert needle in (failed.error or "")
    assert failed.files == []
    assert list((tmp_path / "bad-out").iterdir()) == []  # the staging folder was removed

    good = await pool.convert(ConversionJob(models["k3_dense"]["file"], "onnx", tmp_path / "good-out"))
    assert good.ok, good.error
    assert good.worker_pid == failed.worker_pid  # an invalid upload does not cost a worker restart


@pytest.mark.parametrize("target", ["tfjs", "onnx"])
async def test_unbuilt_model_fails_cleanly(
    pool: ConversionPool, models: dict[str, Any], tmp_path: Path, target: str
) -> None:
    result = await pool.convert(ConversionJob(models["unbuilt"]["file"], target, tmp_path / "out"))  # type: ignore[arg-type]
    assert result.error_kind == "invalid_model"
    assert "never built" in (result.error or "")


async def test_missing_file_fails(pool: ConversionPool, tmp_path: Path) -> None:
    result = await pool.convert(ConversionJob(tmp_path / "nope.keras", "onnx", tmp_path / "out"))
    assert result.error_kind == "invalid_model"
    assert "not found" in (result.error or "")


async def test_keras3_file_with_unknown_layer_fails_cleanly(pool: ConversionPool, tmp_path: Path) -> None:
    """A .keras archive whose config names a layer class nobody registered: Keras refuses, we report."""
    import zipfile

    path = tmp_path / "custom.keras"
    config = {
        "module": "my_project.layers",
        "class_name": "MyMagicLayer",
        "config": {"name": "magic"},
        "registered_name": "my_project>MyMagicLayer",
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
    result = await pool.convert(ConversionJob(path, "onnx", tmp_path / "out"))
    assert result.error_kind == "invalid_model"
    assert result.error and result.error.startswith("could not load custom.keras (saved by Keras 3.15.1)")


async def test_parent_process_never_imported_tensorflow(pool: ConversionPool) -> None:
    # Runs after the conversions above (same module, file order). If another test module of the
    # session loaded TensorFlow earlier, only test_no_tensorflow_in_server_process can tell.
    if "tensorflow" in HEAVY_LOADED_BEFORE:
        pytest.skip("tensorflow was imported by another test module before this one")
    assert {name for name in HEAVY_MODULES if name in sys.modules} == HEAVY_LOADED_BEFORE
