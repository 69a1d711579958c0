"""Run the ``plume`` command as a user would: a subprocess of ``python -m backend.cli``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .server import REPO


def plume(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``plume <args>`` (``env`` adds to the environment), its output captured as text."""
    return subprocess.run([sys.executable, "-m", "backend.cli", *map(str, args)], cwd=cwd or REPO,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)
