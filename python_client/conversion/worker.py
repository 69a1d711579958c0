"""The conversion child of a training process: TF.js / ONNX conversions kept away from training.

**Why a child process.** With ``remote_save_format="tfjs"`` or ``"onnx"`` every checkpoint is
loaded with Keras and converted (tensorflowjs / tf2onnx): about 44 ms of Python-heavy CPU per
epoch. Done in the background sender thread, it held the GIL and the cores the training loop
needs (``bench/bench_callback.py``: fit wall time x1.06 of the baseline, against x1.02 for
``"keras"`` checkpoints). Here it runs in one long-lived child process, which does not hold
the training's GIL and pays the TensorFlow import once. It keeps its normal priority unless
``PLUME_CONVERT_NICE`` says otherwise (:mod:`.child` says why not 19).

**Why ``subprocess.Popen([python, "-m", ...])``.** multiprocessing's spawn and forkserver
re-import the user's main module as ``__mp_main__``: a training script with unguarded top-level
code would train again in the child. fork is unsafe once TensorFlow is initialised.

**Protocol.** One JSON job per line on the child's stdin (``path``, ``local_format``,
``save_format``, ``work_dir``), one JSON answer per line on its stdout (see
:func:`~python_client.conversion.jobs.run_job`); the child is :mod:`.child`.

**Lifetime.** One worker per Python process (:func:`convert`), shared by every Writer and Remote,
one job at a time. It starts on the first conversion; when it died, the job it died in raises
:class:`~python_client.conversion.errors.ConversionError` (the sender's usual handling applies)
and the next job starts a new one; it is stopped at interpreter exit. ``PLUME_CONVERT_IN_PROCESS=1``
converts in the caller's thread instead (as on Windows).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, get_args

from .errors import ConversionError, ErrorKind, describe_exit

IN_PROCESS_ENV = "PLUME_CONVERT_IN_PROCESS"
#: The child's entry point: a module of its own, so that ``-m`` does not run a second copy of this
#: one (which model_files imports on every import of the Writer).
CHILD_MODULE = "python_client.conversion.child"
#: Seconds one job may take. Generous: the child shares the cores the training fills (or is niced,
#: with PLUME_CONVERT_NICE), and the first job also imports TensorFlow.
JOB_TIMEOUT = 600.0
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding python_client/


class ConversionWorker:
    """Parent-side handle of the conversion child; :meth:`run` is thread-safe (one job at a time).

    Args:
        job_timeout: Seconds a job may take before the child is killed and the job fails.
    """

    def __init__(self, job_timeout: float = JOB_TIMEOUT) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._job_timeout = job_timeout
        self.starts = 0  # children started so far (a restart counts)

    @property
    def pid(self) -> int | None:
        """The live child's process id (``None`` before the first job or after it died)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        """Send ``job`` to the child (started if needed) and return its answer.

        Raises:
            ConversionError: the child could not start, died during the job, timed out or
                broke the protocol (``kind`` ``"worker_crashed"`` or ``"timeout"``).
        """
        with self._lock:
            proc = self._running()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(json.dumps(job).encode() + b"\n")
                proc.stdin.flush()
                line = self._read_line(proc.stdout, time.monotonic() + self._job_timeout)
            except TimeoutError:
                self._discard(proc)
                raise ConversionError(f"the conversion worker took more than {self._job_timeout:.0f} s: stopped",
                                      "timeout") from None
            except (OSError, ValueError, EOFError):  # a broken pipe, or the child's stdout closed
                code = self._discard(proc)
                raise ConversionError(f"the conversion worker died ({describe_exit(code)}); the next conversion "
                                      "starts a new one", "worker_crashed") from None
            try:
                answer = json.loads(line)
            except ValueError:
                self._discard(proc)
                raise ConversionError(f"the conversion worker answered {line[:200]!r}", "worker_crashed") from None
        if not isinstance(answer, dict):
            raise ConversionError(f"the conversion worker answered {answer!r:.200}", "worker_crashed")
        return answer

    def convert(self, job: dict[str, Any]) -> tuple[list[Path], dict[str, Any]]:
        """:meth:`run` ``job``: the files written and the metadata; ConversionError when it failed."""
        return _result(self.run(job))

    def close(self, timeout: float = 3.0) -> None:
        """Stop the child: end its input (it exits when idle), kill it after ``timeout`` seconds.

        Takes no lock: at interpreter exit a job may still be running in a daemon thread, and
        that job then fails rather than keeping the process alive.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def _running(self) -> subprocess.Popen[bytes]:
        """The live child, started (again) when there is none."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._proc is not None:
            self._discard(self._proc)
        env = dict(os.environ)
        # The child must import this very python_client, even when the training script found it
        # through its own sys.path rather than an install.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read when TensorFlow is imported: INFO and WARNING off
        # Converting needs no GPU; a second TensorFlow process on it would reserve memory the
        # training needs.
        env["CUDA_VISIBLE_DEVICES"] = ""
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", CHILD_MODULE], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, bufsize=0, env=env, close_fds=True)
        except OSError as exc:
            raise ConversionError(f"could not start the conversion worker: {exc}", "worker_crashed") from exc
        self.starts += 1
        return self._proc

    def _discard(self, proc: subprocess.Popen[bytes]) -> int | None:
        """Kill and reap ``proc`` (already dead or not); its exit code."""
        if self._proc is proc:
            self._proc = None
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # a broken pipe with unflushed data
        return code

    @staticmethod
    def _read_line(stdout: IO[bytes], deadline: float) -> str:
        """One protocol line from the child; TimeoutError past ``deadline``, EOFError if it exited."""
        fd = stdout.fileno()
        data = b""
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError
            data += chunk
        return data.decode("utf-8")


def _result(answer: dict[str, Any]) -> tuple[list[Path], dict[str, Any]]:
    """The files and metadata of a job's answer; ConversionError for an error answer."""
    if "error" in answer:
        kind = answer.get("kind")
        raise ConversionError(str(answer["error"]), kind if kind in get_args(ErrorKind) else "conversion_failed")
    return [Path(f) for f in answer["files"]], dict(answer.get("metadata") or {})


_shared = ConversionWorker()
atexit.register(_shared.close)


def shared_worker() -> ConversionWorker:
    """The process's conversion worker (the benchmark reads its child's CPU time)."""
    return _shared


def convert(path: Path, local_format: str, save_format: str, work_dir: Path) -> tuple[list[Path], dict[str, Any]]:
    """Convert checkpoint ``path`` to ``save_format`` ("tfjs" or "onnx") under ``work_dir``, in the child.

    Returns:
        The files written and the model document's extra metadata, exactly as
        :func:`~python_client.conversion.jobs.convert_checkpoint` gives them.

    Raises:
        ConversionError: the conversion failed, or the child died doing it.
    """
    job = {"path": str(path), "local_format": local_format, "save_format": save_format, "work_dir": str(work_dir)}
    # Windows cannot select() on a pipe (how a job's answer is awaited with a timeout): convert here.
    if os.environ.get(IN_PROCESS_ENV) == "1" or sys.platform == "win32":
        from .jobs import run_job

        return _result(run_job(job))
    return _shared.convert(job)
