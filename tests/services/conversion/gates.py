"""A gate a fake conversion job waits at, so that tests synchronise on what happens, not on time.

The job (``gate-<name>`` in :mod:`.fault_handler`) opens a FIFO for reading, which blocks until the
test opens it for writing: :meth:`Gate.entered` returns once the job is running in its worker. The
job then reads until the test closes its end (:meth:`Gate.release`), and succeeds.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path


class Gate:
    """One FIFO in ``folder``, and the name of the fake job's input file that waits at it."""

    def __init__(self, folder: Path, name: str) -> None:
        self.fifo = folder / f"{name}.fifo"
        self.input = folder / f"gate-{name}.keras"
        os.mkfifo(self.fifo)
        self._fd: int | None = None

    async def entered(self) -> None:
        """Wait until the job is running in a worker (it opened the FIFO)."""
        self._fd = await asyncio.to_thread(os.open, self.fifo, os.O_WRONLY)

    def release(self) -> None:
        """Let the job finish."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
