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


def main() -> None:
    """Child side: serve jobs from stdin until it closes."""
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything else written to stdout, from Python or C, goes to stderr
    sys.stdout = sys.stderr
    # Ctrl-C in a terminal signals the whole process group: the training's exit flush may still
    # need a conversion, and the parent ends this process when it exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(19)
    except OSError:
        pass  # best effort: a lower priority is a courtesy, not a condition
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
