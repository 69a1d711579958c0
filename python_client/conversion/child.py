"""The conversion child's main loop (``python -m python_client.conversion.child``).

Started by :class:`~python_client.conversion.worker.ConversionWorker` (whose docstring says why a
child exists). Reads one JSON job per line on stdin, answers one JSON line on stdout, and exits
when stdin closes. Its stdout carries nothing but those answers: file descriptor 1 is pointed at
stderr before anything is imported, so TensorFlow's and the converters' prints go to the
training's stderr.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys

NICE_ENV = "PLUME_CONVERT_NICE"  # the increment the child passes to os.nice()


def main() -> None:
    """Child side: serve jobs from stdin until it closes."""
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything else written to stdout, from Python or C, goes to stderr
    sys.stdout = sys.stderr
    # Ctrl-C in a terminal signals the whole process group: the training's exit flush may still
    # need a conversion, and the parent ends this process when it exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Not niced by default: at nice 19, on cores the training fills, the child got so little CPU
    # that the epochs' conversions piled up until the end of training, and the final flush waited
    # for all of them (bench_callback: fit x1.069 at 19, x1.037 at 0). Away from the GIL, sharing
    # the cores costs training less than that wait.
    try:
        os.nice(int(os.environ.get(NICE_ENV, "0")))
    except (OSError, ValueError):
        pass  # best effort: a priority is a courtesy, not a condition
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from .jobs import run_job

    while line := sys.stdin.readline():
        if not line.strip():
            continue
        try:
            answer = run_job(json.loads(line))
        except Exception as exc:  # a malformed job: answer it rather than die
            answer = {"error": f"bad conversion job: {type(exc).__name__}: {exc}"[:500], "kind": "conversion_failed"}
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
