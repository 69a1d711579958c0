"""The conversion child of a training process: TF.js / ONNX conversions kept away from training.

**Why a child process.** With ``remote_save_format="tfjs"`` or ``"onnx"`` every checkpoint is
loaded with Keras and converted (tensorflowjs / tf2onnx): about 44 ms of Python-heavy CPU per
epoch. Done in the background sender thread, it held the GIL and the cores the training loop
needs (``bench/bench_callback.py``: fit wall time x1.06 of the baseline, against x1.02 for
``"keras"`` checkpoints). Here it runs in one long-lived child process, which does not hold
the training's GIL and pays the TensorFlow import once. It keeps its normal priority unless
``PLUME_CONVERT_NICE`` says otherwise (:mod:`.child` says why not 19). The child, its protocol
and why it is started with ``Popen`` are the server's conversion workers' (:mod:`.process`).

**Lifetime.** One worker per Python process (:func:`convert`), shared by every Writer and Remote,
one job at a time. It starts on the first conversion; when it died, the job it died in raises
:class:`~python_client.conversion.errors.ConversionError` (the sender's usual handling applies)
and the next job starts a new one; it is stopped at interpreter exit. ``PLUME_CONVERT_IN_PROCESS=1``
converts in the caller's thread instead, and so does Windows (which cannot ``select()`` on the
child's pipes).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

from .errors import ConversionError
from .jobs import ConversionJob, ConversionResult
from .process import DEFAULT_HANDLER, WorkerProcess

IN_PROCESS_ENV = "PLUME_CONVERT_IN_PROCESS"
#: Seconds one job may take. Generous: the child shares the cores the training fills (or is niced,
#: with PLUME_CONVERT_NICE), and the first job also imports TensorFlow.
JOB_TIMEOUT = 600.0
#: Seconds the child may take to start and greet (it imports TensorFlow in its first job, not before).
STARTUP_TIMEOUT = 120.0


class ConversionWorker:
    """The training side's handle of its conversion child; :meth:`run` is thread-safe (one job at a time).

    Args:
        job_timeout: Seconds a job may take before the child is killed and the job fails.
        handler: ``"module:function"`` the child runs per job (tests inject faults here).
    """

    def __init__(self, job_timeout: float = JOB_TIMEOUT, handler: str = DEFAULT_HANDLER) -> None:
        self._lock = threading.Lock()
        self._process: WorkerProcess | None = None
        self._job_timeout = job_timeout
        self._handler = handler
        self.starts = 0  # children started so far (a restart counts)
        self.busy = False  # a job is in the child

    @property
    def pid(self) -> int | None:
        """The live child's process id (``None`` before the first job or after it died)."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def run(self, job: ConversionJob) -> ConversionResult:
        """Send ``job`` to the child (started if needed) and return its result (a failed conversion
        is a result with an ``error``).

        Raises:
            ConversionError: the child could not start, died during the job, timed out or broke the
                protocol (``kind`` ``"worker_crashed"`` or ``"timeout"``); the next job starts a new one.
        """
        with self._lock:
            process = self._running()
            self.busy = True
            try:
                answer = process.run(job.to_dict(), self._job_timeout)
            finally:
                self.busy = False
        try:
            return ConversionResult.from_dict(answer)
        except TypeError:
            raise ConversionError(f"the conversion worker answered {answer!r:.200}", "worker_crashed") from None

    def convert(self, job: ConversionJob) -> ConversionResult:
        """:meth:`run` ``job``; its :class:`ConversionError` raised when the conversion failed."""
        return self.run(job).checked()

    def close(self, timeout: float = 3.0) -> None:
        """Stop the child: end its input (it exits when idle), kill it after ``timeout`` seconds.

        Takes no lock: at interpreter exit a job may still be running in a daemon thread, and
        that job then fails rather than keeping the process alive.
        """
        process, self._process = self._process, None
        if process is not None:
            process.stop(timeout)

    def _running(self) -> WorkerProcess:
        """The live child, started (again) when there is none."""
        if self._process is not None and self._process.is_alive():
            return self._process
        if self._process is not None:
            self._process.kill()  # reap the dead one
        self._process = WorkerProcess(self._handler)
        self.starts += 1
        try:
            self._process.start(STARTUP_TIMEOUT)
        except ConversionError:
            self._process = None
            raise
        return self._process


_shared = ConversionWorker()
atexit.register(_shared.close)


def shared_worker() -> ConversionWorker:
    """The process's conversion worker (the benchmark reads its child's CPU time)."""
    return _shared


def convert(job: ConversionJob) -> ConversionResult:
    """Run ``job`` in the process's conversion child (or in this thread: see the module's docstring).

    Raises:
        ConversionError: the conversion failed, or the child died doing it.
    """
    if os.environ.get(IN_PROCESS_ENV) == "1" or sys.platform == "win32":
        from .runner import run

        return run(job).checked()
    return _shared.convert(job)
