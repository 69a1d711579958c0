"""SBrain's ``ModelEndPoint`` and ``ModelInferenceJob`` against a real server."""

from __future__ import annotations

import base64
import contextlib
import io
import threading
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

import python_client
from python_client.errors import Conflict, NotFound
from python_client.model import Model, OutputModel
from python_client.serving import ModelEndPoint, ModelInferenceJob
from python_client.serving.endpoint import model_ref

TOLERANCE = 1e-5


def run(path: Path, feeds: dict[str, Any]) -> list[np.ndarray]:
    return ort.InferenceSession(str(path)).run(None, feeds)  # type: ignore[no-any-return]


def test_lookup_search_predict_shutdown(served: dict[str, Any]) -> None:
    files = served["files"]
    mlp = ModelEndPoint.lookup("mlp")
    assert (mlp.name, mlp.status, mlp.replicas, mlp.description) == ("mlp", "ready", 1, "the mlp model")
    assert mlp.inputs == [{"name": "x", "shape": [None, 4], "dtype": "float32"}]
    with pytest.raises(NotFound):
        ModelEndPoint.lookup("ml")  # exact names only
    assert {e.name for e in ModelEndPoint.search(endpoint_name="ML")} == {"mlp"}
    assert {e.name for e in ModelEndPoint.search(description="model", model_name="cnn")} == {"cnn"}
    assert {e.name for e in ModelEndPoint.search(status="read", description="ranked")} == {"top"}
    assert ModelEndPoint.search(endpoint_name="mlp", author="nobody") == []
    with pytest.raises(Conflict):
        ModelEndPoint.create(served["docs"]["mlp"], "mlp", "again", 1, False)
    # predict: {"features": [...]}: arrays, and base64 images (text or bytes)
    x = np.random.default_rng(21).normal(size=(3, 4)).astype(np.float32)
    answer = mlp.predict({"features": list(x)})
    assert np.abs(answer - run(files["mlp"], {"x": x})[0]).max() <= TOLERANCE
    pixels = np.random.default_rng(22).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    cnn = ModelEndPoint.lookup("cnn")
    answer = cnn.predict({"features": [buf.getvalue(), base64.b64encode(buf.getvalue()).decode(), pixels]})
    expected = run(files["cnn"], {"image": np.stack([pixels] * 3).astype(np.float32)})[0]
    assert np.abs(answer - expected).max() <= TOLERANCE
    ranked = ModelEndPoint.lookup("top").predict({"features": [x[0]]})
    assert len(ranked) == 1 and len(ranked[0]) == 2
    # raw_predict: the model's own inputs and outputs, through the caller's functions
    text = mlp.raw_predict(lambda: {"x": x}, lambda outputs: repr(outputs["probs"].shape))
    assert text == "(3, 3)"
    # shutdown and start
    mlp.shutdown()
    assert mlp.status == "stopped" and ModelEndPoint.lookup("mlp").status == "stopped"
    with pytest.raises(Conflict):
        mlp.predict({"features": [x[0]]})
    mlp.start()
    assert mlp.status == "ready" and mlp.predict({"features": [x[0]]}).shape == (1, 3)


def test_inference_job(served: dict[str, Any]) -> None:
    x = np.random.default_rng(23).normal(size=(300, 4)).astype(np.float32)
    store = python_client.default_store()
    seen: list[dict[str, Any]] = []
    finished = threading.Event()

    def on_patched(doc: dict[str, Any]) -> None:
        seen.append(doc)
        if doc["status"] in ("done", "failed", "cancelled"):
            finished.set()

    store.service("inference-jobs").on("patched", on_patched)
    job = ModelInferenceJob.submit("mlp", "score-all", "300 rows", [{"x": row} for row in x],
                                   output_function=lambda p: p.argmax(axis=1))
    assert job.model_inference_job_name == "score-all" and job.status == "queued"
    assert job.model_id == ModelEndPoint.lookup("mlp").model == f"onnx-models/{served['docs']['mlp']['_id']}"
    assert finished.wait(60)
    again = ModelInferenceJob.retrieve(job.model_inference_job_id)
    assert again.model_id == job.model_id
    assert again.get_status() == "done" and again.progress == {"done": 300, "total": 300}
    assert again.has_finished() and "running" in [d["status"] for d in seen]
    expected = run(served["files"]["mlp"], {"x": x})[0]
    assert np.abs(again.results() - expected).max() <= TOLERANCE
    assert (job.results() == expected.argmax(axis=1)).all()  # through its output_function
    # A finished job cannot be cancelled: the server answers 409 and it stays done.
    with pytest.raises(Conflict, match="is done already"):
        store.service("inference-jobs").patch(job.model_inference_job_id, {"status": "cancelled"})
    job.cancel()
    assert job.refresh().get_status() == "done" and job.doc["predictions"] is not None
    # Cancel while it runs: the job ends cancelled, without predictions (20,000 rows: far longer than
    # the cancel takes to arrive).
    finished.clear()
    big = ModelInferenceJob.submit("mlp", "cancelled", "", [x[0]] * 20_000)
    big.cancel()
    assert finished.wait(120)
    assert big.get_status() == "cancelled" and big.refresh().doc["predictions"] is None
    with pytest.raises(NotFound):
        ModelInferenceJob.submit("no-such-endpoint", "x", "", [x[0]])


def test_an_endpoint_on_a_registry_model_object(served: dict[str, Any], tmp_path: Path) -> None:
    """The seed's ``model``, "a model object created previously": the registry's OutputModel and Model."""
    store = python_client.default_store()
    training = store.service("runs").create({"name": "iris-training"})
    weights = tmp_path / "iris.onnx"
    weights.write_bytes(served["files"]["mlp"].read_bytes())
    made = OutputModel(task=training["_id"], name="iris", label_enumeration={"a": 0, "b": 1, "c": 2})
    made.update_weights(str(weights), auto_delete_file=False)
    assert OutputModel.wait_for_uploads(timeout=60)
    x = np.random.default_rng(24).normal(size=(2, 4)).astype(np.float32)
    reference = ort.InferenceSession(str(weights)).run(None, {"x": x})[0]
    try:
        for model, name in ((made, "from-output-model"), (Model(made.id), "from-model")):
            endpoint = ModelEndPoint.create(model, name, "a registry model", 1, False)
            assert endpoint.status == "ready" and endpoint.model == f"models/{made.id}"
            assert endpoint.model_name == "iris" and endpoint.source.startswith("model-versions/")
            assert np.abs(endpoint.predict({"features": list(x)}) - reference).max() <= TOLERANCE
            endpoint.delete()
        # Documents and references still work; anything else is a clear TypeError
        assert model_ref({"_id": made.id, "uri": made.url}) == f"models/{made.id}"
        assert model_ref(f"models/{made.id}") == f"models/{made.id}"
        with pytest.raises(TypeError, match="registry Model/OutputModel"):
            ModelEndPoint.create(object(), "nothing", "", 1, False)
    finally:
        for name in ("from-output-model", "from-model"):
            with contextlib.suppress(NotFound):
                ModelEndPoint.lookup(name).delete()
