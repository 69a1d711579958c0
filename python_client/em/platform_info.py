"""What a run records about where it ran: the machine (``platform``) and the code (``git``).

Framework versions come from the installed packages' metadata: nothing is imported.
"""

from __future__ import annotations

import os
import platform as _platform
import socket
import subprocess
from importlib import metadata
from typing import Any

FRAMEWORKS = ("tensorflow", "tensorflow-cpu", "keras", "tf-keras", "torch", "jax", "scikit-learn", "xgboost",
              "lightgbm", "numpy", "horovod")


def platform_info() -> dict[str, Any]:
    """Host, OS, Python, CPU count, memory (bytes) and the versions of the ML frameworks installed."""
    versions = {}
    for name in FRAMEWORKS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"host": socket.gethostname(), "os": _platform.platform(), "python": _platform.python_version(),
            "cpu_count": os.cpu_count(), "memory": _memory(), "frameworks": versions}


def _memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def git_info(cwd: str | None = None) -> dict[str, Any]:
    """Commit, branch, remote URL and dirty flag of the repository the script runs in; ``{}`` when
    it runs outside one (or git is not installed)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "remote_url": git("config", "--get", "remote.origin.url"), "dirty": bool(status)}
