"""The run this process is making: the latest ``em`` Run or Marcelle ``Writer`` run started here
and not finished yet.

``em.create_run``/``em.load_run`` and ``Writer.create_run`` (so the Keras callback too) record
their run; :func:`current_run` finds it, and ``OutputModel(task=None)`` connects its model to it.
Runs are held weakly: one the script dropped is no longer current.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

FINISHED = ("success", "error")  # the end states of both em runs and Marcelle runs

_started: list[weakref.ref[Any]] = []
_lock = threading.Lock()


def run_started(run: Any) -> None:
    """Record ``run`` (an ``em.Run``, or a ``Writer`` that created a run) as started in this process."""
    with _lock:
        _started[:] = [ref for ref in _started if ref() is not None and ref() is not run]
        _started.append(weakref.ref(run))


def current_run() -> Any | None:
    """The latest run started in this process and not finished (an ``em.Run`` or a ``Writer``), or None."""
    with _lock:
        refs = list(_started)
    for ref in reversed(refs):
        run = ref()
        if run is not None and not _finished(run):
            return run
    return None


def forget_runs() -> None:
    """Forget every run recorded so far (a fresh start: tests, notebooks)."""
    with _lock:
        _started.clear()


def _finished(run: Any) -> bool:
    if hasattr(run, "run_data"):  # a Writer: its current run's status
        data = run.run_data
        return not data or data.get("status") in FINISHED
    return getattr(run, "status", None) in FINISHED
