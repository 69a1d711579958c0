"""The conversion child's main loop: ``python -m python_client.conversion.child --handler module:function
[--warm-up module:function]``.

Started by :class:`~python_client.conversion.process.WorkerProcess` (whose docstring gives the
protocol, and says why a child started this way). Reads one JSON job per line on stdin, answers
one JSON line on stdout, and exits when stdin closes. Its stdout carries nothing but greetings and
answers: file descriptor 1 is routed to stderr before anything else is imported, and both pass
through the filter that drops TensorFlow's start-up noise (:func:`~.quiet.filter_output`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any, TextIO

from .quiet import filter_output, quiet_python_logs

NICE_ENV = "PLUME_CONVERT_NICE"  # the increment the child passes to os.nice()


def _resolve(dotted: str) -> Callable[..., Any]:
    """``"package.module:function"`` → the function."""
    module_name, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]


def _send(protocol: TextIO, message: dict[str, Any]) -> None:
    protocol.write(json.dumps(message) + "\n")
    protocol.flush()


def _prepare_process() -> None:
    # Ctrl-C in a terminal signals the whole process group: the parent decides when this process
    # stops (a training's exit flush may still need a conversion; a server finishes its jobs).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Not niced by default: at nice 19, on cores the training fills, the child got so little CPU
    # that the epochs' conversions piled up until the end of training, and the final flush waited
    # for all of them (bench_callback: fit x1.069 at 19, x1.037 at 0). Away from the GIL, sharing
    # the cores costs training less than that wait.
    try:
        os.nice(int(os.environ.get(NICE_ENV, "0")))
    except (OSError, ValueError):
        pass  # best effort: a priority is a courtesy, not a condition
    quiet_python_logs()


def serve(protocol: TextIO, handler: str, warmup: str | None) -> int:
    """Warm up, greet, then answer jobs from stdin until it closes; the exit status."""
    try:
        if warmup:
            _resolve(warmup)()
            quiet_python_logs()  # again: importing TensorFlow configures absl's logging
        run = _resolve(handler)
    except BaseException as exc:  # say why we cannot serve, then exit
        _send(protocol, {"error": f"conversion worker start-up failed: {type(exc).__name__}: {exc}"[:500]})
        return 1
    _send(protocol, {"ready": os.getpid()})
    while line := sys.stdin.readline():
        if not line.strip():
            continue
        job: Any = None
        try:
            job = json.loads(line)
            answer = run(job)
        except Exception as exc:  # a malformed job (a bug of the parent): answer it rather than die
            known = job if isinstance(job, dict) else {}
            answer = {"job_id": str(known.get("job_id", "")), "target": known.get("target", ""),
                      "error": f"bad conversion job: {type(exc).__name__}: {exc}"[:500],
                      "error_kind": "conversion_failed"}
        _send(protocol, answer)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Child side: serve jobs from stdin until it closes."""
    parser = argparse.ArgumentParser(prog="python -m python_client.conversion.child")
    parser.add_argument("--handler", required=True, help="module:function run for each job")
    parser.add_argument("--warm-up", dest="warmup", help="module:function run once before the greeting")
    args = parser.parse_args(argv)
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    restore = filter_output((1, 2))  # anything else written to stdout, from Python or C, goes to stderr
    sys.stdout = sys.stderr
    _prepare_process()
    try:
        return serve(protocol, args.handler, args.warmup)
    finally:
        restore()


if __name__ == "__main__":
    sys.exit(main())
