"""The shipped build: made from the current sources, served by the plugin, carried by the wheel.
(No Node here: the sources' digest is recomputed in Python, as the build wrote it.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import aiohttp
import pytest

from backend.config import ConfigError
from services.dashboard.manifest import STATIC, build_files, read_manifest, source_digest
from tests.support.inprocess import running
from tests.support.server import REPO

SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "data", "*.egg-info", "node_modules", "__pycache__",
                              ".pytest_cache", ".ruff_cache", "marcelle-logs")


def test_the_shipped_build_is_made_from_the_current_sources() -> None:
    manifest = read_manifest()
    assert manifest.get("sources") == source_digest(REPO / "dashboard"), (
        "services/dashboard/static is older than dashboard/: run scripts/build-dashboard and commit the build")
    assert manifest["files"] == build_files(), "the build folder holds other files than the build made"
    index = (STATIC / "index.html").read_text()
    assets = re.findall(r'(?:src|href)="/_dashboard/([^"]+)"', index)
    assert assets and set(assets) <= set(manifest["files"])


async def test_the_plugin_serves_the_app(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        async with http.get(f"{srv.url}/") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
            assert r.headers["Cache-Control"] == "no-cache"
            index = await r.text()
        for name in re.findall(r'(?:src|href)="/_dashboard/([^"]+)"', index):
            async with http.get(f"{srv.url}/_dashboard/{name}") as r:
                assert r.status == 200 and "immutable" in r.headers["Cache-Control"], name
                assert (await r.read()) == (STATIC / name).read_bytes()
        async with http.get(f"{srv.url}/info") as r:  # services are untouched
            assert r.status == 200


async def test_the_pages_can_be_turned_off(tmp_path: Path) -> None:
    async with running(tmp_path, config="[dashboard]\nenabled = false\n") as srv, aiohttp.ClientSession() as http:
        async with http.get(f"{srv.url}/") as r:
            assert r.status == 404
        async with http.get(f"{srv.url}/metric-series") as r:
            assert r.status == 200  # its service stays
    for bad in ("[dashboard]\nenabled = 1\n", "[dashboard]\ncolour = 'red'\n"):
        with pytest.raises(ConfigError, match="dashboard"):
            async with running(tmp_path, config=bad):
                pass


def test_the_wheel_carries_the_build(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=SKIP)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("plume-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"services/dashboard/static/{name}" for name in [*build_files(), "manifest.json"]}
    assert expected <= names, sorted(expected - names)
