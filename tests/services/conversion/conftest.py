"""Fixtures and helpers shared by the conversion tests.

The test process never imports TensorFlow: models are built by ``make_models`` in a subprocess,
ONNX runs in onnxruntime (light), and TF.js output runs in Node.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
JS_DIR = REPO / "tests" / "js"
TFJS_PREDICT = JS_DIR / "tfjs_predict.js"
FAULT_HANDLER = "tests.services.conversion.fault_handler:run_job"
TOLERANCE = 1e-5
#: What TensorFlow, its GPU probing and tensorflowjs print when nobody keeps them quiet.
TENSORFLOW_NOISE = ("oneDNN", "absl::InitializeLog", "cpu_feature_guard", "cuda", "TensorRT",
                    "failed to lookup keras version", "tensorflow/core", "rebuild TensorFlow")


def noisy_lines(text: str) -> list[str]:
    """The lines of ``text`` that are TensorFlow noise."""
    return [line for line in text.splitlines() if any(noise in line for noise in TENSORFLOW_NOISE)]


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Build every test model once (in a subprocess) and return ``make_models``' manifest."""
    out_dir = tmp_path_factory.mktemp("models")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.services.conversion.make_models", str(out_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"building the test models failed:\n{proc.stderr[-3000:]}"
    return json.loads((out_dir / "manifest.json").read_text())


def load_case(info: dict[str, Any]) -> tuple[list[np.ndarray], np.ndarray]:
    """The inputs and Keras' expected output of one manifest entry."""
    with np.load(info["arrays"]) as arrays:
        inputs = [arrays[f"in{i}"] for i in range(info["inputs"])]
        return inputs, arrays["out"]


def node_ready() -> bool:
    """True if Node and the TF.js packages from tests/js/package.json are installed."""
    return shutil.which("node") is not None and (JS_DIR / "node_modules" / "@tensorflow" / "tfjs-layers").is_dir()


def tfjs_predict(model_dir: str | Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Load a TF.js layers model from ``model_dir`` in Node (TF.js 4.22, CPU) and predict ``inputs``."""
    request = {"inputs": [{"shape": list(x.shape), "data": x.ravel().tolist()} for x in inputs]}
    proc = subprocess.run(
        ["node", str(TFJS_PREDICT), str(model_dir)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=JS_DIR,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"tfjs_predict.js printed nothing (rc={proc.returncode}):\n{proc.stderr[-2000:]}"
    answer = json.loads(lines[-1])
    assert "error" not in answer, f"TF.js could not load/run the model: {answer['error']}"
    return [np.asarray(out["data"], dtype=np.float32).reshape(out["shape"]) for out in answer["outputs"]]


def onnx_predict(path: str | Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Run an ONNX model in onnxruntime (CPU), feeding ``inputs`` in the model's input order."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs, strict=True)))
