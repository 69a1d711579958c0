"""A worker job handler for tests: injects faults chosen by the input file's name.

Passed to ``ConversionPool(handler="tests.services.conversion.fault_handler:run_job")`` (or to the
client's ``ConversionWorker``). The file name's stem picks the behaviour (the file itself need not
exist for the fake ones):

* ``crash-*``: ``os._exit(3)``;  ``segv-*``: SIGSEGV;  ``hang-*``: blocks for good;
* ``gate-<name>``: opens the FIFO ``<name>.fifo`` beside the input (:class:`tests.services.conversion.
  gates.Gate`), which blocks until the test opens its other end (so the test knows the job runs), then
  reads it until the test closes it, and succeeds with no files;
* ``echo-*``: succeeds at once;  ``list-*``: answers a list (it breaks the protocol);
* anything else: the real conversion (``python_client.conversion.runner.run_job``).

The fake paths import nothing heavy, so pools using ``warmup=None`` start in a fraction of a second.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

from python_client.conversion.jobs import ConversionResult


def _fake_success(job: dict[str, Any]) -> dict[str, Any]:
    return ConversionResult(job_id=job["job_id"], target=job["target"], worker_pid=os.getpid()).to_dict()


def run_job(job: dict[str, Any]) -> Any:
    """Run ``job`` or the fault its input file name asks for."""
    path = Path(job["input_path"])
    kind, _, arg = path.stem.partition("-")
    if kind == "crash":
        os._exit(3)
    if kind == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if kind == "hang":
        threading.Event().wait()
    if kind == "gate":
        with open(path.with_name(f"{arg}.fifo"), "rb") as gate:
            gate.read()
        return _fake_success(job)
    if kind == "echo":
        return _fake_success(job)
    if kind == "list":
        return [1, 2]
    from python_client.conversion.runner import run_job as real_run_job

    return real_run_job(job)
