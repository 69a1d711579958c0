"""The conversion worker process: both its main loop (child side) and its handle (parent side).

The worker is started with the ``spawn`` method: a fresh interpreter that imports TensorFlow once
and then serves jobs over a pipe until told to stop. Never ``fork``: forking a process that has
imported TensorFlow (or a server with threads and an event loop) is unsafe.

The parent-side :class:`WorkerProcess` methods block; the pool calls them from a thread so the
event loop never waits on the pipe.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from python_client.conversion.errors import describe_exit

#: Per-job function run in the worker: job dict in, result dict out (see ``runner.run_job``).
DEFAULT_HANDLER = "services.conversion.runner:run_job"
#: Run once at worker start so the first job does not pay for the TensorFlow import.
DEFAULT_WARMUP = "services.conversion.runner:warm_up"


class WorkerDied(RuntimeError):
    """The worker process exited (crash, ``os._exit``, signal) while we waited for it."""


class WorkerTimeout(TimeoutError):
    """The worker did not answer in time."""


def _resolve(dotted: str) -> Callable[..., Any]:
    """``"package.module:function"`` → the function."""
    module_name, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _quiet_child() -> None:
    """Keep TensorFlow's C++ logs, absl and Python warnings out of the server's output."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # must be set before TensorFlow is imported
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def worker_main(conn: Connection, handler: str, warmup: str | None) -> None:
    """Child process entry point: warm up, say ``("ready", pid)``, then answer jobs until ``None``.

    Each job is a dict; each answer is ``("result", dict)``. Job failures are reported inside the
    result by the handler; only a crash of the whole process ends the loop otherwise.
    """
    # Ctrl-C in a terminal signals the whole process group; the server decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _quiet_child()
    try:
        if warmup:
            _resolve(warmup)()
        run = _resolve(handler)
        try:  # absl installs its own handler on import; quiet it once it exists
            from absl import logging as absl_logging

            absl_logging.set_verbosity(absl_logging.ERROR)
        except ImportError:
            pass
    except BaseException as exc:  # report why we cannot serve, then exit
        conn.send(("error", f"worker start-up failed: {type(exc).__name__}: {exc}"[:500]))
        conn.close()
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the server went away
            break
        if message is None:
            break
        conn.send(("result", run(message)))
    conn.close()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "worker stopped answering"
    return f"worker {'crashed' if code < 0 else 'exited unexpectedly'} ({describe_exit(code)})"


class WorkerProcess:
    """Parent-side handle of one spawned worker. All methods block; call them off the event loop.

    Args:
        handler: Dotted ``"module:function"`` run for each job in the worker.
        warmup: Dotted ``"module:function"`` run once at start (``None`` to skip).
    """

    def __init__(self, handler: str = DEFAULT_HANDLER, warmup: str | None = DEFAULT_WARMUP) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe(duplex=True)
        self._process = context.Process(
            target=worker_main,
            args=(child_conn, handler, warmup),
            name="plume-conversion-worker",
            daemon=True,  # if the server dies, multiprocessing's exit hook takes the worker with it
        )
        self._child_conn = child_conn
        self.jobs_done = 0
        self.pid: int | None = None

    def start(self, ready_timeout: float) -> None:
        """Start the process and wait until it has imported everything and says it is ready.

        Raises:
            WorkerDied: it exited or reported a start-up failure.
            WorkerTimeout: it was not ready within ``ready_timeout`` seconds (it is killed).
        """
        self._process.start()
        self.pid = self._process.pid
        self._child_conn.close()  # only the child holds its end, so EOF shows when it dies
        try:
            kind, payload = self._receive(ready_timeout)
        except WorkerTimeout:
            self.kill()
            raise
        if kind != "ready":
            self.kill()
            raise WorkerDied(str(payload))

    def run(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one job and wait for its result.

        Raises:
            WorkerDied: the worker exited while running the job.
            WorkerTimeout: no result within ``timeout`` seconds (the caller should kill the worker).
        """
        try:
            self._conn.send(job)
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied(_describe_exit(self._exit_code())) from exc
        kind, payload = self._receive(timeout)
        if kind != "result":
            raise WorkerDied(f"unexpected message from worker: {kind!r}")
        self.jobs_done += 1
        return payload

    def _receive(self, timeout: float) -> tuple[str, Any]:
        # Wait on the pipe and the process sentinel together: a crash wakes us at once instead
        # of after the timeout.
        ready = multiprocessing.connection.wait([self._conn, self._process.sentinel], timeout)
        if not ready:
            raise WorkerTimeout(f"no answer within {timeout:g} s")
        if self._conn in ready:
            try:
                return self._conn.recv()
            except (EOFError, OSError):
                pass
        raise WorkerDied(_describe_exit(self._exit_code()))

    def _exit_code(self) -> int | None:
        self._process.join(timeout=1.0)  # the sentinel fires a moment before the code is known
        return self._process.exitcode

    def is_alive(self) -> bool:
        """True while the process runs."""
        return self._process.is_alive()

    def stop(self, grace: float = 5.0) -> None:
        """Ask the worker to finish its current job and exit; kill it after ``grace`` seconds."""
        try:
            self._conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self._process.join(timeout=grace)
        self.kill()

    def kill(self) -> None:
        """Kill the process at once (SIGKILL: a hung TensorFlow call may ignore SIGTERM) and reap it.

        The pipe is left open on purpose: another thread may still be waiting on it (it sees the
        death through the sentinel); it is closed when the handle is garbage collected.
        """
        if self.pid is None:  # never started
            return
        if self._process.is_alive():
            self._process.kill()
        deadline = time.monotonic() + 10.0
        while self._process.exitcode is None and time.monotonic() < deadline:
            self._process.join(timeout=0.5)
