"""The built wheel carries what the server reads at run time (``[tool.plume] resources``), and the
installed package finds it there. (``scripts/check-wheel``, run by CI, goes further: it installs the
wheel with its dependencies in a fresh venv and serves from it.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from tests.support.server import REPO

RESOURCES = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["plume"]["resources"]
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "data", "*.egg-info", "node_modules", "__pycache__",
                              "marcelle-logs", ".pytest_cache", ".ruff_cache")


def test_every_resource_folder_the_code_reads_is_packaged() -> None:
    asked = set()
    for package in ("backend", "services", "python_client", "keras_callback"):
        for path in (REPO / package).rglob("*.py"):
            asked |= set(re.findall(r"resource_dir\(\"([^\"]+)\"\)", path.read_text()))
    assert asked and asked <= set(RESOURCES), f"add {sorted(asked - set(RESOURCES))} to [tool.plume] resources"
    assert all((REPO / name).is_dir() for name in RESOURCES)


def test_the_wheel_carries_the_resources_and_the_installed_code_finds_them(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=SKIP)  # a clean copy: no build/ left by an earlier build
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("plume-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    for folder in RESOURCES:
        expected = {f"backend/_resources/{folder}/{p.relative_to(REPO / folder).as_posix()}"
                    for p in (REPO / folder).rglob("*") if p.is_file()}
        assert expected and expected <= names
    # Imported from the unpacked wheel (first on the path), away from the checkout.
    probe = ("import json, backend.config as c; print(c.BUILTIN_SCHEMAS); "
             "print(json.dumps(sorted(p.name for p in c.BUILTIN_SCHEMAS.iterdir())))")
    found = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                           env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert found.returncode == 0, found.stderr
    where, files = found.stdout.splitlines()
    assert Path(where) == (tmp_path / "site" / "backend" / "_resources" / "schemas").resolve()
    assert json.loads(files) == sorted(p.name for p in (REPO / "schemas").iterdir() if p.is_file())
