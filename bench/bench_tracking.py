"""Experiment tracking: Plume against MLflow 3's tracking server on SQLite, same workload, same run.

    .venv/bin/python bench/bench_tracking.py [--mlflow-venv DIR] [--mlflow-single N] [--full]

The MLflow side runs in a scratch venv (``python -m venv`` + ``pip install "mlflow>=3,<4"``, made
once in ``--mlflow-venv``, default ``~/.cache/plume-bench/mlflow-venv``); both servers run here on
loopback, one at a time, each on its own SQLite file. The workload (100,000 points: 10 keys x 10,000 steps):

(a) one call per point through each client's ordinary API, end to end until the points are
    stored: Plume's ``Run.log`` with ``auto_upload`` (then waiting for the upload), MLflow's
    ``MlflowClient.log_metric``. MLflow takes several milliseconds per call, so it logs
    ``--mlflow-single`` points (default 5,000) and its time for 100,000 is that rate times
    100,000 (``--full`` logs them all: about 15 minutes);
(b) batches of 1,000 points: ``metrics.create([...])`` (Plume's batch path) against ``log_batch``;
(c) one key's 10,000-point history read back (median of 5);
(d) Plume only: ``Run.log``'s cost to the training script (wall and CPU time per call, measured in
    (a)), and a 100,000-point history downsampled to 1,000 points (median of 10).

It prints each figure and Plume's speed-up. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
KEYS, STEPS = 10, 10_000
BATCH = 1000
HISTORY_STEPS = 10_000
DOWNSAMPLE_POINTS, DOWNSAMPLE_TO = 100_000, 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{url} exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer in {timeout} s:\n{log.read_text()[-3000:]}")


# ----------------------------------------------------------------------------- the MLflow side
def mlflow_venv(folder: Path) -> Path:
    """The scratch venv's python, with MLflow 3 installed (made on first use)."""
    python = folder / "bin" / "python"
    if not (folder / "bin" / "mlflow").exists():
        print(f"installing MLflow 3 into {folder} (once)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "mlflow>=3,<4"], check=True)
    return python


def mlflow_client(url: str, job: str, count: int) -> None:
    """Runs in the MLflow venv: one job against the MLflow server; prints its timings as JSON."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    experiment = client.create_experiment(f"bench-{job}-{time.time()}")
    run_id = client.create_run(experiment).info.run_id
    now = int(time.time() * 1000)
    out: dict[str, Any] = {}
    if job == "single":
        started = time.perf_counter()
        for i in range(count):
            client.log_metric(run_id, f"key{i % KEYS}", i * 0.001, timestamp=now, step=i // KEYS)
        out["seconds"] = time.perf_counter() - started
    elif job == "batch":
        points = [Metric(f"key{i % KEYS}", i * 0.001, now, i // KEYS) for i in range(count)]
        started = time.perf_counter()
        for start in range(0, count, BATCH):
            client.log_batch(run_id, metrics=points[start:start + BATCH])
        out["seconds"] = time.perf_counter() - started
    elif job == "history":
        points = [Metric("loss", i * 0.001, now, i) for i in range(count)]
        for start in range(0, count, BATCH):
            client.log_batch(run_id, metrics=points[start:start + BATCH])
        times = []
        for _ in range(5):
            started = time.perf_counter()
            history = client.get_metric_history(run_id, "loss")
            times.append(time.perf_counter() - started)
            assert len(history) == count, len(history)
        out["seconds"] = statistics.median(times)
    print(json.dumps(out))


def run_mlflow(python: Path, url: str, job: str, count: int) -> float:
    done = subprocess.run([str(python), __file__, "mlflow-client", url, job, str(count)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the MLflow client failed ({job}):\n{done.stderr[-3000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


# ----------------------------------------------------------------------------- the Plume side
def plume_single(url: str, work: Path) -> dict[str, float]:
    """(a): one ``Run.log`` per point with auto_upload, until the server holds every point."""
    import requests

    from python_client import em

    os.chdir(work)
    em.login(url)
    run = em.create_run(name="single", auto_upload=True)
    run.log("train", {"warm": 0.0}, step=0)
    run.wait_for_upload(60)
    cpu, started = time.thread_time(), time.perf_counter()
    for i in range(KEYS * STEPS):
        run.log("train", {f"key{i % KEYS}": i * 0.001}, step=i // KEYS)
    logged, logged_cpu = time.perf_counter() - started, time.thread_time() - cpu
    assert run.wait_for_upload(600), "the upload did not finish"
    total = time.perf_counter() - started
    stored = requests.get(f"{url}/metrics", params={"run": run.id, "$limit": 0}, timeout=30).json()["total"]
    assert stored == KEYS * STEPS + 1, stored
    run.stop_upload()
    del run
    gc.collect()  # the run's 100,000 metric entries would slow the collections of the next workloads
    calls = KEYS * STEPS
    return {"seconds": total, "log_wall_us": logged / calls * 1e6, "log_cpu_us": logged_cpu / calls * 1e6}


def plume_batch(url: str) -> float:
    """(b): ``metrics.create`` of 1,000 points per call, answered with their ids (as ``log_batch``
    answers nothing; the em client's sender asks the same)."""
    from python_client import DataStore

    with DataStore(url) as store:
        run = store.service("runs").create({"name": "batch"})["_id"]
        points = [{"run": run, "type": "train", "key": f"key{i % KEYS}", "step": i // KEYS, "value": i * 0.001,
                   "timestamp": "2026-12-04T00:00:00.000000Z"} for i in range(KEYS * STEPS)]
        metrics = store.service("metrics")
        ids_only = {"query": {"$select": ["_id"]}}
        started = time.perf_counter()
        for start in range(0, len(points), BATCH):
            metrics.create(points[start:start + BATCH], ids_only)
        return time.perf_counter() - started


def plume_series(store: Any, name: str, count: int) -> str:
    run = store.service("runs").create({"name": name})["_id"]
    metrics = store.service("metrics")
    for start in range(0, count, 5000):
        metrics.create([{"run": run, "type": "train", "key": "loss", "step": i, "value": (i % 977) * 0.001}
                        for i in range(start, min(count, start + 5000))])
    return str(run)


def plume_history(url: str) -> float:
    """(c): one key's 10,000 points, in step order (median of 5)."""
    from python_client import DataStore

    with DataStore(url) as store:
        run = plume_series(store, "history", HISTORY_STEPS)
        metrics = store.service("metrics")
        query = {"run": run, "type": "train", "key": "loss", "$sort": {"step": 1}, "$limit": HISTORY_STEPS}
        times = []
        for _ in range(5):
            started = time.perf_counter()
            page = metrics.find({"query": query})
            times.append(time.perf_counter() - started)
            assert len(page["data"]) == HISTORY_STEPS
        return statistics.median(times)


def plume_downsample(url: str) -> float:
    """(d): a 100,000-point history downsampled to 1,000 points (median of 10)."""
    from python_client import DataStore

    with DataStore(url) as store:
        run = plume_series(store, "downsample", DOWNSAMPLE_POINTS)
        metrics = store.service("metrics")
        query = {"run": run, "type": "train", "key": "loss", "$downsample": DOWNSAMPLE_TO}
        metrics.find({"query": query})  # the first read builds nothing: the index is kept as points arrive
        times = []
        for _ in range(10):
            started = time.perf_counter()
            page = metrics.find({"query": query})
            times.append(time.perf_counter() - started)
            assert page["total"] == DOWNSAMPLE_POINTS and len(page["data"]) <= DOWNSAMPLE_TO
        return statistics.median(times)


# ----------------------------------------------------------------------------- main
def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlflow-venv", type=Path, default=Path.home() / ".cache" / "plume-bench" / "mlflow-venv")
    parser.add_argument("--mlflow-single", type=int, default=5000, help="points MLflow logs one call each")
    parser.add_argument("--full", action="store_true", help="MLflow logs all 100,000 points one call each")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    python = mlflow_venv(args.mlflow_venv)
    version = subprocess.run([str(python), "-c", "import mlflow; print(mlflow.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    count = KEYS * STEPS if args.full else min(args.mlflow_single, KEYS * STEPS)
    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        work = Path(tmp)
        print(f"Plume (this checkout) vs MLflow {version}, both on SQLite, loopback, one server at a time; "
              f"{KEYS} keys x {STEPS} steps = {KEYS * STEPS} points\n", flush=True)
        # One server at a time: MLflow 3's server keeps job-runner processes polling, which would
        # take CPU from Plume's figures on a small machine (and Plume's from MLflow's).
        (work / "plume").mkdir()
        (work / "plume.toml").write_text('log_level = "WARNING"\n')
        port, log = free_port(), work / "plume.log"
        server = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port",
                                   str(port), "--data-dir", str(work / "plume"), "--config", str(work / "plume.toml")],
                                  cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{url}/info", server, log)
            single = plume_single(url, work)
            batch, history, downsample = plume_batch(url), plume_history(url), plume_downsample(url)
        finally:
            stop(server)
        port, log = free_port(), work / "mlflow.log"
        server = subprocess.Popen([str(python), "-m", "mlflow", "server", "--backend-store-uri",
                                   f"sqlite:///{work / 'mlflow.db'}", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", "1"], cwd=work, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{url}/health", server, log)
            m_single = run_mlflow(python, url, "single", count) * (KEYS * STEPS) / count
            m_batch = run_mlflow(python, url, "batch", KEYS * STEPS)
            m_history = run_mlflow(python, url, "history", HISTORY_STEPS)
        finally:
            stop(server)
    note = "" if args.full else f" (MLflow: {count} calls timed, scaled to {KEYS * STEPS})"
    rows = [
        ("(a) one call per point, until stored" + note, single["seconds"], m_single, 20),
        (f"(b) batches of {BATCH}", batch, m_batch, 3),
        (f"(c) one key's {HISTORY_STEPS}-point history", history, m_history, 5),
    ]
    print(f"{'workload':<76} {'Plume':>10} {'MLflow':>10} {'speed-up':>9} {'target':>7}")
    for label, ours, theirs, target in rows:
        ratio = theirs / ours
        print(f"{label:<76} {ours:>9.3f}s {theirs:>9.3f}s {ratio:>8.1f}x {'>=' + str(target) + 'x':>7}"
              f"{'' if ratio >= target else '  MISSED'}")
    print(f"\nRun.log cost to the training script (auto_upload on, during (a)): {single['log_wall_us']:.1f} us wall, "
          f"{single['log_cpu_us']:.1f} us CPU of the training thread per call (target <= 20 us)")
    print(f"{DOWNSAMPLE_POINTS}-point history downsampled to {DOWNSAMPLE_TO} points: {downsample * 1000:.1f} ms "
          "(median of 10, end to end from the Python client; target <= 50 ms)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["mlflow-client"]:
        mlflow_client(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
