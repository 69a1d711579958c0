"""A server without onnxruntime (it is in the ``ml`` extra) starts, and serving says why it cannot
predict: endpoints end ``failed`` with the reason, predictions answer 503."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.support.server import PlumeProcess

HIDE = "import sys\nsys.modules['onnxruntime'] = None  # as if it were not installed\n"


def test_serving_without_onnxruntime(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(HIDE)
    with PlumeProcess(tmp_path / "server", env={"PYTHONPATH": str(shim)}) as srv:
        path = onnx_files["mlp"]
        files = requests.post(f"{srv.url}/onnx-models/upload",
                              files={"model.onnx": (path.name, path.read_bytes())}, timeout=10).json()
        doc = requests.post(f"{srv.url}/onnx-models", json={"name": "m", "files": files}, timeout=10).json()
        created = requests.post(f"{srv.url}/endpoints", json={"name": "m", "model": doc["_id"]}, timeout=10)
        assert created.status_code == 201
        answer = requests.post(f"{srv.url}/endpoints/m/predict", json={"instances": [[1, 2, 3, 4]]}, timeout=10)
        assert answer.status_code == 503 and "onnxruntime is not installed" in answer.json()["message"]
        assert answer.json()["name"] == "Unavailable"
        endpoint = requests.get(f"{srv.url}/endpoints/m", timeout=10).json()
        if endpoint["status"] != "failed":  # the load task may still be on its way: ask once it is
            import socketio

            with socketio.SimpleClient() as client:
                client.connect(srv.url, transports=["websocket"])
                endpoint = requests.get(f"{srv.url}/endpoints/m", timeout=10).json()
                while endpoint["status"] != "failed":
                    event, data = client.receive(timeout=30)
                    endpoint = data if event == "endpoints patched" else endpoint
        assert "onnxruntime is not installed" in endpoint["error"]
        missing = requests.post(f"{srv.url}/endpoints/none/predict", json={"instances": [[1]]}, timeout=10)
        assert missing.status_code == 404
