"""The conversion error (no TensorFlow here: the server process imports this module)."""

from __future__ import annotations

import signal
from typing import Literal

#: Why a conversion failed; lets the server map a failure to the right wire error
#: (an unusable upload is the client's fault, a crash or a timeout is ours).
ErrorKind = Literal["invalid_model", "conversion_failed", "timeout", "worker_crashed", "cancelled"]


def describe_exit(code: int | None) -> str:
    """How a conversion worker process ended, from its exit code (None: it is still running)."""
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class ConversionError(Exception):
    """A conversion could not be done; ``message`` is meant to be shown to a human.

    Args:
        message: What went wrong, in words a user who uploaded the model can act on.
        kind: A machine-readable category (see :data:`ErrorKind`).
    """

    def __init__(self, message: str, kind: ErrorKind = "conversion_failed") -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind
