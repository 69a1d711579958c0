"""The README's "Model registry" examples run against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.server import REPO, PlumeProcess

README = (REPO / "README.md").read_text()
SECTION = README.split("## Model registry", 1)[1].split("\n## ", 1)[0]


def block(lang: str, marker: str) -> str:
    (found,) = [b for b in SECTION.split(f"```{lang}\n")[1:] if marker in b.split("```", 1)[0]]
    return found.split("```", 1)[0]


def test_python_example(plume: PlumeProcess, tmp_path: Path) -> None:
    code = block("python", "OutputModel(").replace("http://localhost:3030", plume.url)
    env = {**os.environ, "PLUME_CACHE_DIR": str(tmp_path / "cache"), "TQDM_DISABLE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(plume.url + "/model-versions/") and lines[0].endswith("/epoch-1.bin")
    assert lines[2:] == ["True", "2 {'cat': 0, 'dog': 1} epoch-2.bin"]


def test_curl_example(plume: PlumeProcess, tmp_path: Path) -> None:
    script = block("bash", "model-versions/upload").replace("http://127.0.0.1:3030", plume.url)
    (tmp_path / "weights.keras").write_bytes(os.urandom(21034))
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    decoder, text, values, i = json.JSONDecoder(), done.stdout, [], 0
    while i < len(text.strip()):
        value, i = decoder.raw_decode(text, i)
        values.append(value)
        while i < len(text) and text[i].isspace():
            i += 1
    upload, first, second, published, refused = values
    assert upload["size"] == 21034 and first["version"] == 1 and first["sha256"] == upload["sha256"]
    assert second["version"] == 2 and published["published"] is True and published["version"] == 2
    assert refused["code"] == 409
    assert (tmp_path / "head.bin").stat().st_size == 1024
