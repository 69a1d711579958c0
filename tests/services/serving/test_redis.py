"""Cluster Serving's Redis protocol: the real ``zoo.serving.client`` (analytics-zoo-serving 0.11.2)
against Plume + Redis, and two Plume processes sharing one stream while one is killed."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import redis
import requests
from zoo.serving import client as zoo_client  # analytics-zoo-serving 0.11.2, installed by scripts/setup --all

from tests.support.redis import needs_redis, redis_server
from tests.support.server import PlumeProcess

TOLERANCE = 1e-5
pytestmark = needs_redis


def _endpoint(url: str, name: str, path: Path, **fields: Any) -> None:
    files = requests.post(f"{url}/onnx-models/upload", files={"model.onnx": (path.name, path.read_bytes())}).json()
    doc = requests.post(f"{url}/onnx-models", json={"name": name, "format": "onnx", "files": files}).json()
    requests.post(f"{url}/endpoints", json={"name": name, "model": doc["_id"], **fields}).raise_for_status()


def _ready(url: str, name: str, timeout: float = 60) -> None:
    """Wait until endpoint ``name`` is ready, as seen through its socket.io events."""
    import socketio

    client = socketio.SimpleClient()
    client.connect(url, transports=["websocket"])
    try:
        if requests.get(f"{url}/endpoints/{name}").json()["status"] == "ready":
            return
        deadline = time.monotonic() + timeout
        while True:
            event, data = client.receive(timeout=max(0.1, deadline - time.monotonic()))
            if event == "endpoints patched" and data["name"] == name and data["status"] == "ready":
                return
    finally:
        client.disconnect()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The zoo client prints a line per enqueue."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def _answer(out: Any, uri: str, timeout: float = 30) -> Any:
    """``out.query(uri)`` once answered (the zoo client has no notification: ask Redis with BLPOP-free
    polling on the result key's existence, through a keyspace-free EXISTS loop bounded in time)."""
    deadline = time.monotonic() + timeout
    key = f"cluster-serving_{out.name}:{uri}"
    while not out.db.exists(key):
        assert time.monotonic() < deadline, f"no answer to {uri}"
        time.sleep(0.01)
    return out.query(uri)


def test_zoo_client_against_plume(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    with redis_server() as redis_url:
        port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        with PlumeProcess(tmp_path / "server", args=["--redis", redis_url]) as srv:
            _endpoint(srv.url, "serving_stream", onnx_files["mlp"])  # the zoo client's default stream
            _endpoint(srv.url, "images", onnx_files["cnn"])
            _endpoint(srv.url, "pairs", onnx_files["two"])
            _endpoint(srv.url, "ranked", onnx_files["mlp"], top_n=2)
            for name in ("serving_stream", "images", "pairs", "ranked"):
                _ready(srv.url, name)
            rng = np.random.default_rng(31)
            with quiet():
                inq = zoo_client.InputQueue(host="127.0.0.1", port=port)
                out = zoo_client.OutputQueue(host="127.0.0.1", port=port)
                x = rng.normal(size=(3, 4)).astype(np.float32)
                for i, row in enumerate(x):
                    inq.enqueue(f"t{i}", t=row)  # any key: the model has one input
                inq.enqueue("bad", t=np.array([1.0, 2.0, 3.0]))
            expected = ort.InferenceSession(str(onnx_files["mlp"])).run(None, {"x": x})[0]
            first = _answer(out, "t0")
            assert isinstance(first, np.ndarray) and np.abs(first - expected[0]).max() <= TOLERANCE
            assert _answer(out, "bad") == "NaN"
            for i in (1, 2):
                _answer(out, f"t{i}")
            with quiet():
                everything = out.dequeue()
            assert set(everything) == {"t0", "t1", "t2", "bad"}
            for i in range(3):
                assert np.abs(everything[f"t{i}"] - expected[i]).max() <= TOLERANCE
            assert out.query("t1") == "[]"  # dequeued
            # Images (a path: cv2 encodes it as JPEG; {"b64"} as given)
            import cv2

            pixels = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
            png = tmp_path / "img.png"
            cv2.imwrite(str(png), pixels)
            with quiet():
                images = zoo_client.InputQueue(host="127.0.0.1", port=port, name="images")
                images.enqueue("by-path", img={"path": str(png)})
                import base64

                images.enqueue("by-b64", img={"b64": base64.b64encode(png.read_bytes()).decode()})
            image_out = zoo_client.OutputQueue(host="127.0.0.1", port=port, name="images")
            rgb = pixels[:, :, ::-1].astype(np.float32)  # cv2 wrote BGR; Pillow reads RGB
            exact = ort.InferenceSession(str(onnx_files["cnn"])).run(None, {"image": rgb[None]})[0][0]
            assert np.abs(_answer(image_out, "by-b64") - exact).max() <= TOLERANCE
            assert _answer(image_out, "by-path").shape == (3,)  # JPEG: lossy, but served
            # Several inputs at once: two outputs come back as a list of arrays
            a, b = rng.normal(size=3).astype(np.float32), rng.normal(size=(2, 2)).astype(np.float32)
            with quiet():
                zoo_client.InputQueue(host="127.0.0.1", port=port, name="pairs").enqueue("p", a=a, b=b)
            pair = _answer(zoo_client.OutputQueue(host="127.0.0.1", port=port, name="pairs"), "p")
            total, scaled = ort.InferenceSession(str(onnx_files["two"])).run(None, {"a": a[None], "b": b[None]})
            assert isinstance(pair, list) and np.abs(pair[0] - total[0]).max() <= TOLERANCE
            assert np.abs(pair[1] - scaled[0]).max() <= TOLERANCE
            # top_n: [[class index, probability], ...], most probable first
            with quiet():
                zoo_client.InputQueue(host="127.0.0.1", port=port, name="ranked").enqueue("r", t=x[0])
            ranked = _answer(zoo_client.OutputQueue(host="127.0.0.1", port=port, name="ranked"), "r")
            best = np.argsort(-expected[0])[:2]
            assert ranked.shape == (2, 2) and ranked[:, 0].tolist() == best.tolist()
            assert np.abs(ranked[:, 1] - expected[0][best]).max() <= TOLERANCE


def test_two_processes_share_a_stream_and_survive_a_kill(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    # One database and one file store (a shared volume) for both processes
    config = f"[serving]\nclaim_idle = 1.0\nmax_batch = 4\n\n[storage]\nfiles_dir = \"{tmp_path / 'files'}\"\n"
    db = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    with redis_server() as redis_url:
        port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        args = ["--redis", redis_url, "--database", db]
        with PlumeProcess(tmp_path / "a", args=args, config=config) as a, \
                PlumeProcess(tmp_path / "b", args=args, config=config) as b:
            _endpoint(a.url, "shared", onnx_files["mlp"])
            _ready(a.url, "shared")
            db_client = redis.Redis(port=port)
            consumers = _wait_consumers(db_client, "shared", 2)
            # Enqueue, then freeze A while it holds entries it read but did not acknowledge, and kill
            # it. On a loaded machine both processes may drain a round before A is caught holding
            # any: another round is enqueued then.
            batch, n, victim = 400, 0, 0
            x = np.random.default_rng(41).normal(size=(batch * 5, 4)).astype(np.float32)
            with quiet():
                inq = zoo_client.InputQueue(host="127.0.0.1", port=port, name="shared")
            while not victim and n < len(x):
                with quiet():
                    for i in range(n, n + batch):
                        inq.enqueue(f"u{i}", t=x[i])
                n += batch
                victim = _holding(db_client, a, consumers)
            a.kill()
            assert victim > 0
            x = x[:n]
            out = zoo_client.OutputQueue(host="127.0.0.1", port=port, name="shared")
            expected = ort.InferenceSession(str(onnx_files["mlp"])).run(None, {"x": x})[0]
            for i in range(n):
                assert np.abs(_answer(out, f"u{i}") - expected[i]).max() <= TOLERANCE
            pending = db_client.xpending("shared", "serving")
            assert pending["pending"] == 0
            keys = db_client.keys("cluster-serving_shared:*")
            assert len(keys) == n  # every uri answered, each once (one hash per uri, set with HSETNX)
            assert b.proc is not None and b.proc.poll() is None


def _wait_consumers(db: Any, stream: str, count: int, timeout: float = 30) -> list[str]:
    """The group's consumers, once ``count`` processes read the stream."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(redis.ResponseError):
            names = [c["name"].decode() for c in db.xinfo_consumers(stream, "serving")]
            if len(names) >= count:
                return names
        assert time.monotonic() < deadline, "the processes did not join the consumer group"
        time.sleep(0.05)


def _holding(db: Any, proc: PlumeProcess, consumers: list[str], attempts: int = 500) -> int:
    """Stop ``proc`` (SIGSTOP) at a moment it holds unacknowledged entries; how many it holds."""
    assert proc.proc is not None and sys.platform != "win32"
    mine = [c for c in consumers if f"-{proc.proc.pid}-" in c]
    assert mine, consumers
    for _ in range(attempts):
        os.kill(proc.proc.pid, signal.SIGSTOP)
        held = sum(c["pending"] for c in db.xinfo_consumers("shared", "serving") if c["name"].decode() in mine)
        if held:
            return int(held)
        os.kill(proc.proc.pid, signal.SIGCONT)
    return 0
