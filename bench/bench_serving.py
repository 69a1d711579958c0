"""Benchmark: predictions through ``plume serve`` against onnxruntime called directly.

For a small MLP and a small CNN:

* the no-server baseline: onnxruntime in this process, one instance per ``session.run``, in a loop;
* Plume: ``POST /endpoints/<name>/predict`` with one instance per request from 64 concurrent HTTP
  connections (``wrk -c64``), dynamic batching on; throughput ratio and p50/p99 latency;
* the queue path: ``InputQueue.enqueue`` + ``OutputQueue.query`` (Plume's embedded queue, the
  Python client) against Cluster Serving's design, the real ``zoo.serving.client`` on a Redis
  stream read by the same Plume process (``--redis``); instances per second, same load for both.

Usage: ``.venv/bin/python bench/bench_serving.py [--seconds 10] [--queue-instances 2000]``
(not part of the test suite; wrk comes from Debian, installed when missing).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_core import cpu_seconds, ensure_wrk, sh, start_baseline  # noqa: E402

from tests.services.serving import onnx_models  # noqa: E402
from tests.support.redis import redis_server  # noqa: E402
from tests.support.server import PlumeProcess  # noqa: E402

CONNECTIONS = 64
MODELS: dict[str, tuple[Callable[[Path], Path], str, tuple[int, ...]]] = {
    # name: (builder, input name, one instance's shape)
    "mlp": (lambda p: onnx_models.mlp(p, inputs=64, hidden=256, classes=10), "x", (64,)),
    "cnn": (lambda p: onnx_models.cnn(p, size=28, channels=1, filters=8, classes=10), "image", (28, 28, 1)),
}


def direct_rate(path: Path, name: str, shape: tuple[int, ...], seconds: float) -> float:
    """Instances per second: onnxruntime in this process, one instance per run."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path))
    x = np.random.default_rng(0).normal(size=(1, *shape)).astype(np.float32)
    for _ in range(200):
        session.run(None, {name: x})
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            session.run(None, {name: x})
        count += 100
    return count / elapsed


def deploy(url: str, key: str, path: Path) -> None:
    files = requests.post(f"{url}/onnx-models/upload", files={"model.onnx": (path.name, path.read_bytes())}).json()
    doc = requests.post(f"{url}/onnx-models", json={"name": key, "format": "onnx", "files": files}).json()
    requests.post(f"{url}/endpoints", json={"name": key, "model": doc["_id"]}).raise_for_status()
    deadline = time.monotonic() + 60
    while requests.get(f"{url}/endpoints/{key}").json()["status"] != "ready":
        if time.monotonic() > deadline:
            sys.exit(f"endpoint {key} did not become ready")
        time.sleep(0.05)


def wrk_rate(wrk: str, url: str, pid: int, key: str, body: dict[str, Any], seconds: int,
             work: Path) -> tuple[float, str, str, float]:
    """(requests/s, p50, p99, server CPU µs per request) with 64 connections posting ``body``."""
    script = work / f"{key}.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
                      'wrk.headers["Content-Type"] = "application/json"\n')
    base = [wrk, "-t2", f"-c{CONNECTIONS}", "--latency", "-s", str(script)]
    sh([*base, "-d2s", url])
    before = cpu_seconds(pid)
    out = sh([*base, f"-d{seconds}s", url]).stdout
    used = cpu_seconds(pid) - before
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        sys.exit(f"errors from {url}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    return rate, p50, p99, 1e6 * used / max(count, 1)


def queue_rate(enqueue: Callable[[str, np.ndarray], None], answered: Callable[[str], bool],
               rows: np.ndarray, threads: int = 8) -> float:
    """Instances per second for ``enqueue`` of every row, then ``answered`` (queried) for each."""
    uris = [f"q-{i}-{time.time_ns()}" for i in range(len(rows))]

    def worker(part: range) -> None:
        for i in part:
            enqueue(uris[i], rows[i])
        for i in part:
            while not answered(uris[i]):
                time.sleep(0.005)

    parts = [range(k, len(rows), threads) for k in range(threads)]
    start = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(p,)) for p in parts]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(rows) / (time.perf_counter() - start)


def queue_bench(work: Path, path: Path, instances: int) -> tuple[float, float]:
    """(Plume's embedded queue, Cluster Serving's Redis stream) instances/s, for the MLP."""
    from zoo.serving import client as zoo

    import python_client
    from python_client.serving import InputQueue, OutputQueue

    rows = np.random.default_rng(1).normal(size=(instances, 64)).astype(np.float32)
    with redis_server() as redis_url:
        port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        with PlumeProcess(work / "queue", args=["--redis", redis_url]) as srv:
            deploy(srv.url, "serving_stream", path)
            python_client.connect(srv.url)
            inq, outq = InputQueue(name="serving_stream"), OutputQueue(name="serving_stream")
            plume = queue_rate(lambda uri, row: inq.enqueue(uri, x=row),
                               lambda uri: not isinstance(outq.query(uri, delete=True), str), rows)
            python_client.disconnect()
            with contextlib.redirect_stdout(io.StringIO()):  # the zoo client prints a line per call
                zin = zoo.InputQueue(host="127.0.0.1", port=port)
                zout = zoo.OutputQueue(host="127.0.0.1", port=port)
                redis = queue_rate(lambda uri, row: zin.enqueue(uri, t=row),
                                   lambda uri: not isinstance(zout.query(uri, delete=True), str), rows)
    return plume, redis


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--queue-instances", type=int, default=2000)
    args = ap.parse_args()
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = {key: build(work / f"{key}.onnx") for key, (build, _, _) in MODELS.items()}
        print(f"predictions, one instance per request, {CONNECTIONS} concurrent connections (wrk)")
        with PlumeProcess(work / "server") as srv:
            for key in MODELS:
                deploy(srv.url, key, files[key])
            for key, (_, name, shape) in MODELS.items():
                baseline = direct_rate(files[key], name, shape, args.seconds / 2)
                x = np.random.default_rng(2).normal(size=shape).astype(np.float32)
                body = {"instances": [{name: x.tolist()}]}
                assert srv.proc is not None
                rate, p50, p99, cpu = wrk_rate(wrk, f"{srv.url}/endpoints/{key}/predict", srv.proc.pid, key,
                                               body, args.seconds, work)
                floor = start_baseline("bare-json", work)
                try:
                    top, _, _, _ = wrk_rate(wrk, f"{floor.url}/predict", floor.proc.pid, f"{key}-floor", body,
                                            args.seconds, work)
                finally:
                    floor.stop()
                print(f"  {key}: onnxruntime direct {baseline:9.0f} inst/s | Plume {rate:8.0f} req/s "
                      f"(ratio {rate / baseline:.2f}x) | latency p50 {p50}, p99 {p99} | server CPU {cpu:.0f} µs/req")
                print(f"  {key}: HTTP floor (bare aiohttp parsing the same body, answering a constant) "
                      f"{top:8.0f} req/s = {top / baseline:.2f}x of direct; Plume reaches {rate / top:.2f}x of it")
        plume, redis = queue_bench(work, files["mlp"], args.queue_instances)
        print(f"queue path (enqueue + query, {args.queue_instances} MLP instances, 8 client threads)")
        print(f"  Plume embedded queue (python_client): {plume:7.0f} inst/s | Cluster Serving Redis stream "
              f"(zoo client, read by Plume): {redis:7.0f} inst/s | ratio {plume / redis:.2f}x")


if __name__ == "__main__":
    main()
