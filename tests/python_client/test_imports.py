"""``python_client`` installs and imports alone: no backend, no services, no TensorFlow, no numpy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support.server import REPO

PACKAGE = REPO / "python_client"


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_client_never_imports_the_server() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert not _imported_modules(path) & {"backend", "services", "tests"}, path


def test_importing_the_client_loads_no_heavy_module() -> None:
    code = (
        "import sys, python_client\n"
        "from python_client import DataStore, AsyncDataStore, Remote, Writer, Uploader, conform_dict\n"
        "import python_client.cli, python_client.conversion\n"
        "heavy = {'tensorflow', 'keras', 'tensorflowjs', 'tf2onnx', 'numpy', 'backend', 'services'}\n"
        "print(sorted(heavy & set(m.split('.')[0] for m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_keras_callback_loads_keras_only_when_used() -> None:
    code = "import sys, keras_callback\nprint('keras' in sys.modules, 'tensorflow' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False False"
