"""The README's em example runs against a real server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.server import REPO, PlumeProcess


def test_readme_em_example(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "em.create_run" in b]
    with PlumeProcess(tmp_path / "server") as srv:
        code = example.replace("http://localhost:3030", srv.url)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["True", "success 300 weights"]
