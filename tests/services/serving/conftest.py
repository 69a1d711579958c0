"""Serving fixtures: ONNX model files built once per session (onnx.helper, no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import onnx_models


@pytest.fixture(scope="session")
def onnx_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"mlp", "cnn", "two", "text", "sparse"}`` → .onnx files."""
    out = tmp_path_factory.mktemp("onnx")
    return {"mlp": onnx_models.mlp(out / "mlp.onnx"), "cnn": onnx_models.cnn(out / "cnn.onnx"),
            "two": onnx_models.two_inputs(out / "two.onnx"), "text": onnx_models.text(out / "text.onnx"),
            "sparse": onnx_models.sparse_sum(out / "sparse.onnx")}
