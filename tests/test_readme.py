"""The README's examples run against a real server (its port swapped for a free one)."""

from __future__ import annotations

import json
import os
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


def json_values(text: str) -> list[object]:
    """The JSON values printed one after another (curl adds no newline)."""
    decoder, values, i = json.JSONDecoder(), [], 0
    while i < len(text.rstrip()):
        value, i = decoder.raw_decode(text, i)
        values.append(value)
        while i < len(text) and text[i].isspace():
            i += 1
    return values


def test_authentication_example(tmp_path: Path) -> None:
    """The auth walk-through: first admin from the CLI, login, a user, an API key, anonymous 401."""
    (block,) = [b for b in blocks("bash") if "plume users create" in b]
    before, after = block.split("scripts/serve &\n")
    env = {**os.environ, "PLUME_DATA_DIR": str(tmp_path), "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"}
    setup = subprocess.run(["bash", "-euc", before], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert setup.returncode == 0, setup.stderr
    exports = before.split("\n", 1)[0]  # the export line: the server gets the same settings
    auth_env = dict(kv.split("=", 1) for kv in exports.removeprefix("export ").split())
    with PlumeProcess(tmp_path, env=auth_env) as srv:
        script = exports + "\n" + after.replace("localhost:3030", f"127.0.0.1:{srv.port}")
        proc = subprocess.run(["bash", "-euc", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    user, key, anonymous = json_values(proc.stdout)
    assert user["email"] == "ann@example.org" and user["role"] == "editor" and "password" not in user
    assert key["key"].startswith("plume_") and key["name"] == "ci"
    assert anonymous["code"] == 401


def test_python_client_and_keras_callback_examples(tmp_path: Path) -> None:
    """The Python client and KerasCallback examples, then ``plume sync`` on the run folder the callback wrote."""
    (client,) = [b for b in blocks("python") if "from python_client import DataStore" in b]
    (callback,) = [b for b in blocks("python") if "from keras_callback import KerasCallback" in b]
    (sync,) = [line for b in blocks("bash") for line in b.splitlines() if line.startswith("plume sync ")]
    env = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}", "TF_CPP_MIN_LOG_LEVEL": "2"}
    with PlumeProcess(tmp_path / "server") as srv:
        def run(code: str, timeout: float = 60) -> str:
            proc = subprocess.run([sys.executable, "-c", code.replace("http://localhost:3030", srv.url)],
                                  cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)
            assert proc.returncode == 0, proc.stderr[-3000:]
            return proc.stdout

        assert run(client).splitlines() == ["['Ann', 'Bob']", "404 No record found for id '0123456789abcdef01234567'"]
        assert run(callback, timeout=300).strip() == "mlp-1 success 4"  # 3 epochs + the final checkpoint
        line = sync.split("#")[0].replace("http://localhost:3030", srv.url)
        proc = subprocess.run(["bash", "-euc", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "mlp-1: up to date"


def run_python(code: str, srv: PlumeProcess, cwd: Path, timeout: float = 120) -> str:
    """Run a README example against ``srv`` in ``cwd``; its standard output."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", code.replace("http://localhost:3030", srv.url)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_asyncio_client_example(tmp_path: Path) -> None:
    """``AsyncDataStore``: events with an async callback, ``items``, and a ``FilePart`` upload and download."""
    (example,) = [b for b in blocks("python") if "from python_client import AsyncDataStore" in b]
    with PlumeProcess(tmp_path / "server") as srv:
        out = run_python(example, srv, tmp_path)
    assert out.splitlines() == ["created Dee", "['Dee']", "copy.png 72"]
    assert (tmp_path / "copy.png").read_bytes() == (tmp_path / "photo.png").read_bytes()


def test_server_side_conversion_example(tmp_path: Path) -> None:
    """``Remote.wait_for_conversion`` and ``download_converted`` on a Keras model built for it."""
    (example,) = [b for b in blocks("python") if "wait_for_conversion" in b]
    build = ("import keras\nkeras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save('my_model.keras')\n")
    with PlumeProcess(tmp_path / "server") as srv:
        run_python(build, srv, tmp_path, timeout=240)
        out = run_python(example, srv, tmp_path, timeout=300)
    assert out.strip() == "done ['model.onnx']"
    assert (tmp_path / "converted" / "model.onnx").stat().st_size > 0
