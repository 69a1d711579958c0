"""Benchmark: what the KerasCallback costs a training run, against the same training without it.

One process trains the same model (an MLP on synthetic data, about a second per epoch on two
cores) in these configurations, interleaved over several rounds so that machine noise hits all
of them alike:

- ``baseline``: no callback;
- ``logging``: the callback, logs only (no checkpoint but the final one: ``final_checkpoint=False``);
- ``ckpt-tfjs``: a checkpoint every epoch, converted to TF.js here and uploaded in the background;
- ``ckpt-keras``: a checkpoint every epoch uploaded as ``.h5`` (the server converts it);
- ``ckpt-down``: a checkpoint every epoch with the backend unreachable (kept on disk).

Per configuration it reports:

- the median epoch time (from one ``on_epoch_begin`` to the next, so the callback's
  ``on_epoch_end`` is inside) and its extra milliseconds over the baseline of the same round;
- the median time spent inside the callback's ``on_epoch_end`` (timers placed just before and
  after it): what the training thread itself waits for;
- the CPU time per epoch of the background sender (uploads), of the client's conversion child
  (local TF.js conversions: ``python_client.conversion.worker``) and of the
  server with its conversion worker (until it has converted the run's Keras checkpoints; the
  next configuration starts after that): on a machine whose cores the training already fills (and
  that shares them with the server here), that CPU is what slows training, whatever thread or
  process it runs in;
- the training wall time (``fit`` from its start to its return, the final flush of the uploads
  included) as a ratio to the baseline of the same round.

Ratios and differences are taken per round (each configuration against the baseline that ran
next to it) and their median is shown, so that a slower moment of a shared machine does not
count as the callback's cost; short fits and many rounds keep the pairs close in time. The server
(and the conversion worker it spawns) runs at the lowest CPU priority, as if it were on another
machine: its CPU is reported, not charged to training (on two cores it would otherwise compete
with the training for them, which a real deployment does not do).

Targets: logging overhead ≤ 5 ms median per epoch; with a checkpoint every epoch, training wall
time within 5% of the baseline.

Usage: ``.venv/bin/python bench/bench_callback.py [--rounds 12] [--epochs 4] [--samples 48000]``
(not part of the test suite).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_callback import KerasCallback  # noqa: E402
from python_client import DataStore  # noqa: E402
from python_client.conversion.worker import shared_worker  # noqa: E402
from tests.support.server import PlumeProcess, free_port  # noqa: E402


class Timer(keras.callbacks.Callback):
    """Timestamps of each epoch's begin and of its ``on_epoch_end`` reaching this callback."""

    def __init__(self) -> None:
        super().__init__()
        self.begins: list[float] = []
        self.ends: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.begins.append(time.perf_counter())

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.ends.append(time.perf_counter())

    def on_train_end(self, logs: Any = None) -> None:
        self.begins.append(time.perf_counter())  # closes the last epoch's span


def make_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _stat(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and of its live children (the conversion worker)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(entry.name)
            except (FileNotFoundError, ProcessLookupError):
                continue
            if entry.name == str(pid) or fields[1] == str(pid):  # fields[1] is the parent pid
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def convert_cpu_seconds() -> float:
    """User + system CPU time of this process's conversion child so far (0 when there is none)."""
    pid = shared_worker().pid
    if pid is None:
        return 0.0
    try:
        fields = _stat(pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_conversions(url: str) -> None:
    """Wait until the server has converted every ``keras-models`` checkpoint (its worker shares our cores)."""
    busy = {"$in": ["pending", "running"]}
    query = {"$or": [{"conversions.tfjs.status": busy}, {"conversions.onnx.status": busy}], "$limit": 0}
    with DataStore(url) as store:
        while store.service("keras-models").find({"query": query})["total"]:
            time.sleep(0.2)


class KeepSender(keras.callbacks.Callback):
    """Placed before the KerasCallback: holds on to its sender (which it closes at the end of training)."""

    def __init__(self, callback: KerasCallback) -> None:
        super().__init__()
        self.callback = callback
        self.sender: Any = None

    def on_train_end(self, logs: Any = None) -> None:
        self.sender = self.callback.writer.sender


def run(config: str, url: str, down_url: str, logs: Path, epochs: int, x: Any, y: Any,
        server_pid: int) -> dict[str, Any]:
    """Train once in ``config``; timings in seconds."""
    model = make_model()
    before, after = Timer(), Timer()
    callbacks: list[Any] = [before]
    keep = None
    if config != "baseline":
        fmt = {"ckpt-keras": "keras"}.get(config, "tfjs")
        cb = KerasCallback("bench", down_url if config == "ckpt-down" else url, remote_save_format=fmt,
                           model_checkpoint_freq=None if config == "logging" else 1, base_log_dir=logs,
                           final_checkpoint=config != "logging", upload_timeout=120)
        keep = KeepSender(cb)
        callbacks += [keep, cb]
    callbacks.append(after)
    server0, convert0 = cpu_seconds(server_pid), convert_cpu_seconds()
    started = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=callbacks)
    wall = time.perf_counter() - started
    wait_conversions(url)  # the server's share includes converting this run's checkpoints
    server_cpu = cpu_seconds(server_pid) - server0
    convert_cpu = convert_cpu_seconds() - convert0
    sender_cpu = keep.sender.cpu_seconds if keep is not None and keep.sender is not None else 0.0
    spans = [b - a for a, b in zip(before.begins, before.begins[1:], strict=False)]
    inside = [b - a for a, b in zip(before.ends, after.ends, strict=True)]
    # The first epoch pays for tracing the train function: left out of the per-epoch figures.
    return {"epoch": statistics.median(spans[1:]), "inside": statistics.median(inside[1:]), "wall": wall,
            "sender_cpu": sender_cpu / epochs, "convert_cpu": convert_cpu / epochs, "server_cpu": server_cpu / epochs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--samples", type=int, default=48000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 64), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    configs = ["baseline", "logging", "ckpt-tfjs", "ckpt-keras", "ckpt-down"]
    rounds: list[dict[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp, PlumeProcess(Path(tmp) / "server") as srv:
        assert srv.proc is not None
        os.setpriority(os.PRIO_PROCESS, srv.proc.pid, 19)  # its conversion worker inherits it
        down = f"http://127.0.0.1:{free_port()}"
        logs = Path(tmp) / "logs"
        for config in ("logging", "ckpt-tfjs", "ckpt-keras"):  # warm-up: imports, tracing, converters, worker
            run(config, srv.url, down, logs, 2, x, y, srv.proc.pid)
        for r in range(args.rounds):
            results: dict[str, dict[str, Any]] = {}
            for config in configs if r % 2 == 0 else reversed(configs):
                results[config] = run(config, srv.url, down, logs, args.epochs, x, y, srv.proc.pid)
                res = results[config]
                print(f"round {r + 1}/{args.rounds} {config:<10} wall {res['wall']:6.2f}s  epoch "
                      f"{res['epoch'] * 1000:7.1f} ms  in callback {res['inside'] * 1000:6.2f} ms", file=sys.stderr)
            rounds.append(results)

    def med(config: str, value: Any) -> float:
        return statistics.median(value(res[config], res["baseline"]) for res in rounds)

    print(f"\nKerasCallback cost: {args.rounds} rounds x {args.epochs} epochs, {args.samples} samples, "
          f"{make_model().count_params()} parameters; medians over rounds; each round's baseline is the same fit "
          f"without the callback, run next to it\n")
    print(f"{'config':<12}{'epoch ms':>9}{'+ms/epoch':>11}{'in callback':>13}{'sender CPU':>12}"
          f"{'convert CPU':>13}{'server CPU':>12}{'fit wall':>10}")
    print(f"{'':<12}{'':>9}{'vs base':>11}{'ms/epoch':>13}{'ms/epoch':>12}{'ms/epoch':>13}{'ms/epoch':>12}"
          f"{'vs base':>10}")
    for config in configs:
        print(f"{config:<12}{med(config, lambda c, b: c['epoch']) * 1000:>9.1f}"
              f"{med(config, lambda c, b: c['epoch'] - b['epoch']) * 1000:>+11.2f}"
              f"{med(config, lambda c, b: c['inside']) * 1000:>13.2f}"
              f"{med(config, lambda c, b: c['sender_cpu']) * 1000:>12.1f}"
              f"{med(config, lambda c, b: c['convert_cpu']) * 1000:>13.1f}"
              f"{med(config, lambda c, b: c['server_cpu']) * 1000:>12.1f}"
              f"{med(config, lambda c, b: c['wall'] / b['wall']):>10.3f}")
    print(f"\nlogging only: {med('logging', lambda c, b: c['epoch'] - b['epoch']) * 1000:+.2f} ms per epoch "
          f"(median epoch vs baseline; target <= 5 ms), {med('logging', lambda c, b: c['inside']) * 1000:.2f} ms "
          f"inside on_epoch_end")
    for config in ("ckpt-tfjs", "ckpt-keras", "ckpt-down"):
        print(f"{config}: fit wall time x{med(config, lambda c, b: c['wall'] / b['wall']):.3f} of the baseline "
              f"(target <= 1.05)")


if __name__ == "__main__":
    main()
