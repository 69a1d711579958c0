"""Run the real code of Marcelle's Python package 0.0.5 against a Plume server; print what happened as JSON.

Run by ``test_marcelle_compat.py`` in a subprocess with ``.venv/compat`` (see
``requirements-marcelle-compat.txt``) on ``sys.path``:

    python -m tests.python_client.marcelle_driver <server url> <work dir>

Marcelle 0.0.5 imports TensorFlow 2, tensorflowjs 3 and keras2onnx at import time; its REST code
uses none of them. Those imports get empty placeholders here (nothing Marcelle runs below touches
them), and numpy 2's removed ``float_``/``complex_`` aliases, which its ``conform_dict`` names,
are put back. Marcelle's own code is not changed.
"""

from __future__ import annotations

import json
import sys
import traceback
import types
from pathlib import Path
from typing import Any

import numpy as np


def _placeholders() -> None:
    tf = types.ModuleType("tensorflow")
    keras = types.ModuleType("tensorflow.keras")
    backend = types.ModuleType("tensorflow.keras.backend")
    callbacks = types.ModuleType("tensorflow.keras.callbacks")
    callbacks.Callback = type("Callback", (), {"__init__": lambda self: None})  # type: ignore[attr-defined]
    backend.count_params = lambda p: 0  # type: ignore[attr-defined]
    keras.backend, keras.callbacks = backend, callbacks  # type: ignore[attr-defined]
    tf.keras, tf.saved_model = keras, types.ModuleType("tensorflow.saved_model")  # type: ignore[attr-defined]
    sys.modules.update({"tensorflow": tf, "tensorflow.keras": keras, "tensorflow.keras.backend": backend,
                        "tensorflow.keras.callbacks": callbacks, "tensorflowjs": types.ModuleType("tensorflowjs"),
                        "keras2onnx": types.ModuleType("keras2onnx")})
    for old, new in (("float_", np.float64), ("complex_", np.complex128)):
        if not hasattr(np, old):
            setattr(np, old, new)


def attempt(results: dict[str, Any], key: str, fn: Any) -> Any:
    """Run one step of Marcelle's code; record its value or its exception."""
    try:
        value = fn()
        results[key] = {"ok": True, "value": value}
        return value
    except Exception as exc:
        results[key] = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-800:]}
        return None


def main(url: str, work: Path) -> None:
    _placeholders()
    import marcelle
    import requests

    out: dict[str, Any] = {}
    store = marcelle.DataStore(url)
    svc = store.service("marcelle-things")
    ids = [attempt(out, f"create{i}", lambda i=i: svc.create({"i": np.int64(i), "x": np.float32(i / 2),
                                                               "tag": "m"})["_id"]) for i in range(12)]
    attempt(out, "find", lambda: svc.find({"query": {"i": {"$gt": 6}, "$sort": {"i": -1}, "$select": ["i"],
                                                     "tag": "m"}}))
    attempt(out, "find_in", lambda: svc.find({"query": {"i": {"$in": [1, 3]}, "$sort": {"i": 1}}})["data"])
    attempt(out, "get", lambda: svc.get(ids[0], {"query": {"tag": "m"}}))
    attempt(out, "patch", lambda: svc.patch(ids[1], {"x": 100}))
    attempt(out, "update", lambda: svc.update(ids[2], {"i": 2, "tag": "m", "replaced": True}))
    attempt(out, "remove", lambda: svc.remove(ids[3]))
    attempt(out, "items", lambda: [r["i"] for r in svc.items({"tag": "m"})])

    remote = marcelle.Remote(url, save_format="tfjs")
    first = {"basename": "mrun", "start": "2026-03-03T03:03:03", "source": "keras", "status": "idle",
             "params": {}, "logs": {}, "checkpoints": [], "assets": []}
    attempt(out, "remote_create1", lambda: (remote.create(first), first["name"], remote.run_id)[1:])
    second = {**{k: v for k, v in first.items() if k != "name"}, "start": "2026-03-03T03:03:04"}
    attempt(out, "remote_create2", lambda: (remote.create(second), second["name"])[1])
    attempt(out, "remote_update", lambda: remote.update({**second, "status": "epoch", "epoch": 1}))
    attempt(out, "retrieve_run", lambda: remote.retrieve_run("2026-03-03T03:03:04")["name"])

    tfjs = work / "tfjs"
    tfjs.mkdir(parents=True)
    (tfjs / "model.json").write_text('{"format": "layers-model", "modelTopology": {}, "weightsManifest": []}')
    (tfjs / "group1-shard1of1.bin").write_bytes(b"\x00" * 8)
    # Marcelle's upload request, byte for byte as upload_tfjs_model builds it, and the reply it gets:
    files = [("model.json", ("model.json", open(tfjs / "model.json"), "application/json")),
             ("group1-shard1of1.bin", ("group1-shard1of1.bin", open(tfjs / "group1-shard1of1.bin", "rb"),
                                       "application/octet-stream"))]
    res = requests.post(remote.models_service.location + "/upload", files=files)
    out["upload_request"] = {"status": res.status_code, "body": res.json()}
    attempt(out, "upload_tfjs_model", lambda: remote.upload_tfjs_model(str(tfjs), {"epoch": 1}))
    png = work / "plot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    attempt(out, "upload_asset", lambda: remote.upload_asset(str(png), {"epoch": 1}))

    writer = marcelle.Writer("mwriter", backend_root=url, base_log_dir=str(work / "logs"))
    attempt(out, "writer", lambda: (writer.create_run(run_params={"lr": np.float64(0.1)}), writer.train_begin(2),
                                    writer.save_epoch(1, {"loss": np.float32(0.5)}),
                                    writer.save_epoch(2, {"loss": np.float32(0.25)}),
                                    writer.train_end(save_checkpoint=False), writer.log_folder)[-1])
    uploader = marcelle.Uploader(marcelle.Remote(url))
    attempt(out, "uploader", lambda: uploader.upload(writer.log_folder))
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
