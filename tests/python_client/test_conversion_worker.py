"""The conversion child (``python_client.conversion.worker``): real Keras models, a real child process.

The test process never imports TensorFlow: the model is saved by ``tests.keras_callback.train save``
in a subprocess, the in-process conversion it is compared with runs in another one, ONNX runs in
onnxruntime and TF.js in Node.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from python_client.conversion.errors import ConversionError
from python_client.conversion.jobs import ConversionJob
from python_client.conversion.worker import ConversionWorker, shared_worker
from python_client.model_files import prepare
from tests.keras_callback.support import TOLERANCE, TRAIN
from tests.services.conversion.conftest import node_ready, noisy_lines, onnx_predict, tfjs_predict
from tests.support.server import REPO

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny Keras model saved as ``.h5`` and ``.keras``, its probe inputs and Keras' predictions."""
    out = tmp_path_factory.mktemp("tiny")
    for suffix in ("h5", "keras"):
        proc = subprocess.run([*TRAIN, "save", str(out / f"model.{suffix}"), str(out / "expected.json")], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads((out / "expected.json").read_text())
    return {"dir": out, "probe": np.asarray(info["probe"], dtype=np.float32), "expected": np.asarray(info["expected"])}


def job(model: Path, save_format: str, work_dir: Path) -> ConversionJob:
    return ConversionJob(str(model), save_format, str(work_dir), source_format=model.suffix[1:])  # type: ignore[arg-type]


def wait_until(condition: Callable[[], bool]) -> None:
    """Return once ``condition()`` holds (another thread makes it true)."""
    while not condition():
        time.sleep(0.005)


def wait_exit(pid: int) -> None:
    """Return once process ``pid`` has ended (a pidfd becomes readable then)."""
    fd = os.pidfd_open(pid)
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def test_the_child_converts_to_tfjs_and_onnx(tiny: dict[str, Any], tmp_path: Path) -> None:
    tfjs = prepare(tiny["dir"] / "model.h5", "h5", "tfjs", tmp_path / "tfjs-job")
    onnx = prepare(tiny["dir"] / "model.keras", "keras", "onnx", tmp_path / "onnx-job")
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules  # it all happened in the child
    assert shared_worker().pid not in (None, os.getpid())
    assert (tfjs.format, tfjs.metadata) == ("tfjs", {"tfjsModelFormat": "layers-model"})
    assert [p.filename for p in tfjs.parts] == ["model.json", "group1-shard1of1.bin"]
    assert (onnx.format, onnx.metadata, [p.filename for p in onnx.parts]) == ("onnx", {}, ["model.onnx"])
    (out,) = onnx_predict(tmp_path / "onnx-job" / "model.onnx", [tiny["probe"]])
    assert np.abs(out - tiny["expected"]).max() <= TOLERANCE
    if node_ready():
        (out,) = tfjs_predict(tmp_path / "tfjs-job" / "tfjs", [tiny["probe"]])
        assert np.abs(out - tiny["expected"]).max() <= TOLERANCE


def test_the_child_writes_what_the_in_process_conversion_writes(tiny: dict[str, Any], tmp_path: Path) -> None:
    model = tiny["dir"] / "model.h5"
    prepare(model, "h5", "tfjs", tmp_path / "child")
    code = ("import sys; from pathlib import Path; from python_client.model_files import prepare\n"
            "prepare(Path(sys.argv[1]), 'h5', 'tfjs', Path(sys.argv[2]))\n")
    proc = subprocess.run([sys.executable, "-c", code, str(model), str(tmp_path / "in-process")], cwd=REPO,
                          env={**os.environ, "PLUME_CONVERT_IN_PROCESS": "1"}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("model.json", "group1-shard1of1.bin"):
        child, in_process = (tmp_path / where / "tfjs" / name for where in ("child", "in-process"))
        assert child.read_bytes() == in_process.read_bytes()


def test_the_child_prints_no_tensorflow_noise(tiny: dict[str, Any], tmp_path: Path) -> None:
    """A training script converting in its child: its stderr gets none of TensorFlow's start-up lines."""
    code = ("import sys; from pathlib import Path; from python_client.model_files import prepare\n"
            "for fmt in ('tfjs', 'onnx'):\n"
            "    print(prepare(Path(sys.argv[1]), 'h5', fmt, Path(sys.argv[2]) / fmt).format)\n")
    env = {k: v for k, v in os.environ.items() if k != "PLUME_CONVERT_IN_PROCESS"}
    proc = subprocess.run([sys.executable, "-c", code, str(tiny["dir"] / "model.h5"), str(tmp_path)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["tfjs", "onnx"]  # the child's output never reaches the script's stdout
    assert (tmp_path / "onnx" / "model.onnx").is_file()
    assert noisy_lines(proc.stderr) == []


def test_a_corrupt_model_file_is_a_conversion_error(tiny: dict[str, Any], tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"not an HDF5 file")
    worker = ConversionWorker()
    try:
        with pytest.raises(ConversionError) as caught:
            worker.convert(job(corrupt, "tfjs", tmp_path / "w1"))
        assert caught.value.kind == "invalid_model"
        assert "could not load the model file" in caught.value.message and "corrupt.h5" in caught.value.message
        pid = worker.pid
        worker.convert(job(tiny["dir"] / "model.h5", "onnx", tmp_path / "w2"))  # the same child goes on
        assert worker.pid == pid and worker.starts == 1
    finally:
        worker.close()
    assert worker.pid is None


def test_a_killed_child_is_restarted(tiny: dict[str, Any], tmp_path: Path) -> None:
    worker = ConversionWorker()
    try:
        worker.convert(job(tiny["dir"] / "model.h5", "tfjs", tmp_path / "w1"))
        first = worker.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)  # while idle: the next job starts a new child
        wait_exit(first)  # the signal is delivered asynchronously
        files = worker.convert(job(tiny["dir"] / "model.h5", "tfjs", tmp_path / "w2")).files
        assert Path(files[0]).name == "model.json" and worker.starts == 2 and worker.pid not in (None, first)
    finally:
        worker.close()


def test_a_child_killed_during_a_job_fails_that_job_only(tiny: dict[str, Any], tmp_path: Path) -> None:
    worker = ConversionWorker()
    errors: list[BaseException] = []

    def first_job() -> None:  # the child's first job imports TensorFlow: seconds to kill it in
        try:
            worker.convert(job(tiny["dir"] / "model.h5", "tfjs", tmp_path / "w1"))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=first_job)
    try:
        thread.start()
        wait_until(lambda: worker.busy)  # the job is in the child, importing TensorFlow
        pid = worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        thread.join(60)
        (error,) = errors
        assert isinstance(error, ConversionError) and error.kind == "worker_crashed"
        assert "SIGKILL" in error.message
        result = worker.convert(job(tiny["dir"] / "model.h5", "tfjs", tmp_path / "w2"))
        assert Path(result.files[0]).is_file() and result.metadata == {"tfjsModelFormat": "layers-model"}
        assert worker.starts == 2
    finally:
        thread.join(60)
        worker.close()
