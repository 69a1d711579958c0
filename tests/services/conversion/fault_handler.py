"""A worker job handler for tests: injects faults chosen by the input file's name.

Passed to ``ConversionPool(handler="tests.services.conversion.fault_handler:run_job")``. The file
name's stem picks the behaviour (the file itself need not exist for the fake ones):

* ``crash-*``: ``os._exit(3)``;  ``segv-*``: SIGSEGV;  ``hang-*``: sleeps for an hour;
* ``sleep-<seconds>``: sleeps, then succeeds with no files;  ``echo-*``: succeeds at once;
* anything else: the real conversion (``services.conversion.runner.run_job``).

The fake paths import nothing heavy, so pools using ``warmup=None`` start in a fraction of a second.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any


def _fake_success(job: dict[str, Any]) -> dict[str, Any]:
    from services.conversion.jobs import ConversionResult

    return ConversionResult(job_id=job["job_id"], target=job["target"], worker_pid=os.getpid()).to_dict()


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run ``job`` or the fault its input file name asks for."""
    stem = Path(job["input_path"]).stem
    kind, _, arg = stem.partition("-")
    if kind == "crash":
        os._exit(3)
    if kind == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if kind == "hang":
        time.sleep(3600)
    if kind == "sleep":
        time.sleep(float(arg))
        return _fake_success(job)
    if kind == "echo":
        return _fake_success(job)
    from services.conversion.runner import run_job as real_run_job

    return real_run_job(job)
