"""The README's examples run against a real server (its port swapped for a free one)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.support.server import REPO, PlumeProcess

README = (REPO / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_curl_examples(tmp_path: Path) -> None:
    (intro,) = [b for b in blocks("bash") if "localhost:3030/people" in b]
    curl_lines = [line for line in intro.splitlines() if line.startswith("curl ")]
    assert len(curl_lines) >= 5
    with PlumeProcess(tmp_path) as srv:
        outputs = []
        for line in curl_lines:
            cmd = line.replace("localhost:3030", f"127.0.0.1:{srv.port}")
            proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30)
            assert proc.returncode == 0, (cmd, proc.stderr)
            outputs.append(json.loads(proc.stdout))
    assert outputs[2]["total"] == 1 and set(outputs[2]["data"][0]) == {"_id", "name"}
    assert outputs[3] == {"total": 2, "limit": 0, "skip": 0, "data": []}
    assert "people" in outputs[4]["services"]


def test_python_socketio_example(tmp_path: Path) -> None:
    (example,) = [b for b in blocks("python") if "socketio.AsyncClient" in b]
    with PlumeProcess(tmp_path) as srv:
        code = example.replace("http://localhost:3030", srv.url)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "created Cid"
