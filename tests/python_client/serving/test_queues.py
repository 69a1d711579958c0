"""``InputQueue`` / ``OutputQueue`` against a real server: every input kind of the seed, query and
dequeue shapes, the direct and queued ``predict``, and results equal to onnxruntime's own."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from python_client.serving import InputQueue, OutputQueue

from .conftest import Answers

TOLERANCE = 1e-5


def run(path: Path, feeds: dict[str, Any]) -> list[np.ndarray]:
    return ort.InferenceSession(str(path)).run(None, feeds)  # type: ignore[no-any-return]


def test_every_input_kind(served: dict[str, Any], answers: Answers, tmp_path: Path) -> None:
    srv, files = served["server"], served["files"]
    rng = np.random.default_rng(11)
    x = rng.normal(size=(3, 4)).astype(np.float32)
    inq = InputQueue(host="127.0.0.1", port=srv.port, name="mlp")
    outq = OutputQueue(host="127.0.0.1", port=srv.port, name="mlp")
    try:
        for i, row in enumerate(x):
            inq.enqueue(f"row-{i}", x=row)
        inq.enqueue("row-bad", x=np.array([1.0, 2.0]))
        expected = run(files["mlp"], {"x": x})[0]
        results = {f"row-{i}": _wait(answers, outq, f"row-{i}") for i in range(3)}
        for i in range(3):
            assert isinstance(results[f"row-{i}"], np.ndarray)
            assert np.abs(results[f"row-{i}"] - expected[i]).max() <= TOLERANCE
        assert _wait(answers, outq, "row-bad") == "NaN" and "does not fit input 'x'" in str(outq.error("row-bad"))
        assert outq.query("never-sent") == "[]"
        dequeued = outq.dequeue()
        assert set(dequeued) == {"row-0", "row-1", "row-2", "row-bad"}
        assert np.abs(dequeued["row-2"] - expected[2]).max() <= TOLERANCE and dequeued["row-bad"] == "NaN"
        assert outq.dequeue() == {} and outq.query("row-0") == "[]"
    finally:
        inq.close()
        outq.close()
    # Images: a path, {"path"}, {"b64"}
    pixels = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    png = tmp_path / "img.png"
    Image.fromarray(pixels).save(png)
    images = InputQueue(name="cnn")
    images.enqueue("img-path", image=str(png))
    images.enqueue("img-dict", image={"path": str(png)})
    images.enqueue("img-b64", image={"b64": base64.b64encode(png.read_bytes()).decode()})
    expected = run(files["cnn"], {"image": pixels[None].astype(np.float32)})[0][0]
    for uri in ("img-path", "img-dict", "img-b64"):
        assert np.abs(_wait(answers, OutputQueue(name="cnn"), uri) - expected).max() <= TOLERANCE
    # Strings, sparse tensors, several named inputs at once (two outputs: a dict of arrays)
    InputQueue(name="text").enqueue("words", words=["plume", "hello"])
    assert _wait(answers, OutputQueue(name="text"), "words").tolist() == [3.0, 1.0]
    sparse = [np.array([[0, 1, 4], [0, 2, 5]]), np.array([101, 102, 103]), np.array([5, 10])]
    InputQueue(name="sparse").enqueue("sparse", dense=sparse)
    assert _wait(answers, OutputQueue(name="sparse"), "sparse").tolist() == [306.0]
    a, b = rng.normal(size=3).astype(np.float32), rng.normal(size=(2, 2)).astype(np.float32)
    InputQueue(name="two").enqueue("pair", a=a, b=b)
    answer = _wait(answers, OutputQueue(name="two"), "pair")
    total, scaled = run(files["two"], {"a": a[None], "b": b[None]})
    assert set(answer) == {"sum", "scaled"}
    assert np.abs(answer["sum"] - total[0]).max() <= TOLERANCE
    assert np.abs(answer["scaled"] - scaled[0]).max() <= TOLERANCE


def test_top_n_query_is_the_seed_format(served: dict[str, Any], answers: Answers) -> None:
    x = np.array([0.3, -0.2, 1.0, 0.5], dtype=np.float32)
    InputQueue(name="top").enqueue("ranked", x=x)
    text = _wait(answers, OutputQueue(name="top"), "ranked")
    probs = run(served["files"]["mlp"], {"x": x[None]})[0][0]
    ranked = json.loads(text)
    best = np.argsort(-probs)[:2]
    assert list(ranked) == [["a", "b", "c"][i] for i in best]
    assert all(isinstance(p, str) for p in ranked.values())  # "probability" text, as the seed shows
    assert np.allclose([float(p) for p in ranked.values()], probs[best], atol=TOLERANCE)


def test_predict_direct_and_through_the_queue(served: dict[str, Any]) -> None:
    srv = served["server"]
    x = np.random.default_rng(12).normal(size=(2, 4)).astype(np.float32)
    request = json.dumps({"instances": [{"x": row.tolist()} for row in x]})
    expected = run(served["files"]["mlp"], {"x": x})[0]
    direct = InputQueue(sync=True, frontend_url=srv.url, name="mlp")
    queued = InputQueue(name="mlp")
    try:
        for queue in (direct, queued):
            # The seed's predict(request_str), by position and by name; the zoo client's request_data
            for answer in (queue.predict(request), queue.predict(request_str=request, timeout=30),
                           queue.predict(request_data=json.loads(request), timeout=30)):
                assert isinstance(answer, np.ndarray) and answer.shape == (2, 3)
                assert np.abs(answer - expected).max() <= TOLERANCE
            for wrong in ({}, {"request_str": request, "request_data": request}):
                with pytest.raises(TypeError, match="takes the request once"):
                    queue.predict(**wrong)
            with pytest.raises(ValueError, match="request_str must hold"):
                queue.predict(request_str="{}")
    finally:
        direct.close()
    assert OutputQueue(name="mlp").dequeue() == {}  # the queued predict took its own results


def _wait(answers: Answers, queue: OutputQueue, uri: str) -> Any:
    """The result of ``uri``, once its ``serving-results created`` event arrived."""
    answers.wait(queue.name, uri)
    value = queue.query(uri)
    assert not (isinstance(value, str) and value == "[]"), uri
    return value
