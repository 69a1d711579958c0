"""The one worker protocol: a conversion process started with ``Popen`` and spoken to in JSON lines.

Both the server's worker pool and the training side's conversion child use :class:`WorkerProcess`
(the child's main loop is :mod:`.child`):

* the parent starts ``python -m python_client.conversion.child --handler <module:function>
  [--warm-up <module:function>]``; the child warms up (imports TensorFlow once, when asked), then
  writes ``{"ready": <pid>}`` (or ``{"error": "..."}`` and exits);
* for each job, one JSON line on the child's stdin (:meth:`ConversionJob.to_dict`), one JSON line
  back on its stdout (:meth:`ConversionResult.to_dict`, from the handler);
* the child exits when its stdin closes. Its stdout carries nothing but answers; everything else
  it prints goes to the parent's stderr, TensorFlow's noise filtered out (:mod:`.quiet`).

**Why ``Popen([python, "-m", ...])``.** multiprocessing's spawn and forkserver re-import the
parent's main module as ``__mp_main__``: a training script with unguarded top-level code would
train again in the child, and a server started from a script would start again. ``fork`` is unsafe
once TensorFlow (or a server with threads and an event loop) runs in the parent.

The methods block: the server calls them from threads, so that its event loop never waits on a
pipe. Waiting uses ``select()`` on the child's stdout, so the crash of the child wakes the parent
at once (end of file) instead of after the job's time limit; Windows cannot ``select()`` on pipes
(the training side converts in process there, see :mod:`.worker`).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from .errors import ConversionError, describe_exit
from .quiet import tensorflow_env

#: The child's entry point: a module of its own, so that ``-m`` runs no second copy of a module the
#: parent has imported.
CHILD_MODULE = "python_client.conversion.child"
#: Per-job function run in the child: job dict in, result dict out.
DEFAULT_HANDLER = "python_client.conversion.runner:run_job"
#: Run once at start so that the first job does not pay for the TensorFlow import.
DEFAULT_WARMUP = "python_client.conversion.runner:warm_up"
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding python_client/


def child_command(handler: str = DEFAULT_HANDLER, warmup: str | None = None) -> list[str]:
    """The command line that starts a conversion child."""
    return [sys.executable, "-m", CHILD_MODULE, "--handler", handler, *(["--warm-up", warmup] if warmup else [])]


def child_env() -> dict[str, str]:
    """The child's environment: this one, plus this very python_client on its path, TensorFlow quiet."""
    env = dict(os.environ)
    # The child must import this python_client even when the parent found it through its own
    # sys.path (a training script run from a checkout) rather than an install.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    tensorflow_env(env)
    return env


class _Ended(Exception):
    """The child is gone: it died, was killed meanwhile, or broke the protocol (then it is killed).
    The message says which, for a user."""


def _stopped(why: str) -> ConversionError:
    return ConversionError(f"the conversion worker stopped during the job ({why}); the next job starts a new one",
                           "worker_crashed")


class WorkerProcess:
    """Parent-side handle of one conversion child. Blocking; one job at a time.

    Args:
        handler: ``"module:function"`` the child runs for each job.
        warmup: ``"module:function"`` the child runs once before it says it is ready, or ``None``.
    """

    def __init__(self, handler: str = DEFAULT_HANDLER, warmup: str | None = None) -> None:
        self._command = child_command(handler, warmup)
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._reading = False  # a thread waits on the child's stdout: only it may close it
        self.jobs_done = 0
        self.pid: int | None = None

    def start(self, ready_timeout: float) -> None:
        """Start the child and wait until it says it is ready.

        Raises:
            ConversionError: ``kind`` ``"worker_crashed"``: it could not start, exited, reported a
                start-up failure or was not ready within ``ready_timeout`` seconds (it is killed).
        """
        try:
            self._proc = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          bufsize=0, env=child_env(), close_fds=True)
        except OSError as exc:
            raise ConversionError(f"could not start the conversion worker: {exc}", "worker_crashed") from exc
        self.pid = self._proc.pid
        try:
            hello = self._receive(ready_timeout)
        except TimeoutError:
            raise ConversionError(f"the conversion worker was not ready within {ready_timeout:g} s",
                                  "worker_crashed") from None
        except _Ended as ended:
            raise ConversionError(f"the conversion worker failed to start ({ended})", "worker_crashed") from None
        if "ready" not in hello:
            self.kill()
            raise ConversionError(str(hello.get("error") or f"unexpected greeting {hello!r:.200}"), "worker_crashed")

    def run(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one job and return the child's answer.

        Raises:
            ConversionError: ``kind`` ``"timeout"`` when there was no answer within ``timeout``
                seconds, ``"worker_crashed"`` when the child died or broke the protocol; the
                child is killed either way.
        """
        proc = self._started()
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(job).encode() + b"\n")
            proc.stdin.flush()
            answer = self._receive(timeout)
        except TimeoutError:
            raise ConversionError(f"conversion timed out after {timeout:g} s", "timeout") from None
        except OSError:  # a broken pipe: it died while idle
            self.kill()
            raise _stopped(describe_exit(proc.returncode)) from None
        except _Ended as ended:
            raise _stopped(str(ended)) from None
        self.jobs_done += 1
        return answer

    def is_alive(self) -> bool:
        """True while the child runs."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """End the child's input (it exits once idle); kill it after ``grace`` seconds."""
        if self._proc is None:
            return
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            self._proc.wait(grace)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def kill(self) -> None:
        """Kill the child at once (SIGKILL: a hung TensorFlow call may ignore SIGTERM) and reap it.

        Safe to call again, and while another thread waits for an answer: that thread sees the end
        of the child's stdout, and closes it (closing a descriptor another thread waits on is not).
        """
        self._reap()
        if not self._reading:
            self._close_stdout()

    def _started(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise ConversionError("the conversion worker was never started", "worker_crashed")
        return self._proc

    def _reap(self) -> int | None:
        """Kill (if needed) and reap the child; close its stdin; its exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass  # a broken pipe with unflushed data
        return code

    def _close_stdout(self) -> None:
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()

    def _receive(self, timeout: float) -> dict[str, Any]:
        """The next JSON object from the child.

        Raises:
            TimeoutError: none within ``timeout`` seconds (the child is killed).
            _Ended: the child's stdout closed, or it broke the protocol (it is killed).
        """
        proc = self._started()
        self._reading = True
        try:
            line = self._read_line(proc.stdout, time.monotonic() + timeout)
        except TimeoutError:
            self._reap()
            self._close_stdout()
            raise
        except (OSError, ValueError, EOFError):  # its stdout closed: it died, or was killed
            code = self._reap()
            self._close_stdout()
            raise _Ended(describe_exit(code)) from None
        finally:
            self._reading = False
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self.kill()
            raise _Ended(f"it answered {line[:200]!r}")
        return answer

    def _read_line(self, stdout: IO[bytes] | None, deadline: float) -> str:
        """One protocol line; TimeoutError past ``deadline``, EOFError if the child's stdout closed."""
        assert stdout is not None
        fd = stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8")
