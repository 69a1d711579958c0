"""Model-service test fixtures: the conversion tests' model builder (a subprocess; no TensorFlow here)
and real TF.js and ONNX files converted from one of its models (in a conversion child)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from python_client.conversion.jobs import ConversionJob
from python_client.conversion.worker import ConversionWorker
from tests.services.conversion.conftest import models  # noqa: F401  (re-exported fixture)


@pytest.fixture(scope="session")
def converted(models: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # noqa: F811
    """``k3_dense`` converted: ``{"model.json": ..., "shard": ..., "onnx": ...}``."""
    out = tmp_path_factory.mktemp("converted")
    worker = ConversionWorker()
    try:
        tfjs = worker.convert(ConversionJob(models["k3_dense"]["file"], "tfjs", str(out / "tfjs")))
        onnx = worker.convert(ConversionJob(models["k3_dense"]["file"], "onnx", str(out)))
    finally:
        worker.close()
    return {"model.json": Path(tfjs.files[0]), "shard": Path(tfjs.files[1]), "onnx": Path(onnx.files[0])}
