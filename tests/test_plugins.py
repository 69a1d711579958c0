"""The plugin API: a third-party plugin (tests/plugins/notes.py) plugs in without touching
``backend/``, through an entry point or by hand; built-in plugins load without an install step."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from backend.config import ConfigError, load_settings
from backend.plugins import BUILTIN, discover
from backend.server import create_app
from backend.storage import Storage
from tests.plugins.notes import NotesSettings
from tests.support.inprocess import running


@pytest.fixture
def installed_notes(tmp_path: Path) -> Iterator[None]:
    """``tests.plugins.notes`` installed as a package would be: a dist-info with its entry point."""
    dist = tmp_path / "site" / "plume_notes-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: plume-notes\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[plume.plugins]\nnotes = tests.plugins.notes\n")
    sys.path.insert(0, str(dist.parent))
    try:
        yield
    finally:
        sys.path.remove(str(dist.parent))


async def test_an_installed_plugin_is_found_through_its_entry_point(tmp_path: Path, installed_notes: None) -> None:
    assert [p.name for p in discover()] == ["authentication", "runs", "models", "assets", "tracking", "registry",
                                            "serving", "dashboard", "notes"]
    async with running(tmp_path, config='[notes]\nprefix = "re: "\n') as srv, aiohttp.ClientSession() as http:
        assert srv.app.extensions.get(NotesSettings).prefix == "re: "
        async with http.post(f"{srv.url}/notes", json={"title": "hello"}) as r:
            assert r.status == 201 and (await r.json())["title"] == "re: hello"
        form = aiohttp.FormData()
        form.add_field("a.txt", b"12345", filename="a.txt")
        async with http.post(f"{srv.url}/attachments/upload", data=form) as r:
            assert r.status == 200 and await r.json() == {"a.txt": 5}
        async with http.post(f"{srv.url}/attachments", json={"x": 1}) as r:
            assert r.status == 201  # a file service keeps its six methods
        assert srv.app.service("attachments").store is srv.app.service("attachments").adapter


async def test_a_plugins_bad_setting_is_reported_with_its_name(tmp_path: Path, installed_notes: None) -> None:
    with pytest.raises(ConfigError, match=r"^plugin notes: \[notes\] prefix must be a string, got 3$"):
        async with running(tmp_path, config="[notes]\nprefix = 3\n"):
            pass


async def test_without_the_plugin_its_table_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \[notes\]"):
        async with running(tmp_path, config='[notes]\nprefix = "x"\n'):
            pass


def test_a_missing_builtin_plugin_stops_the_server() -> None:
    with pytest.raises(ConfigError, match=r"the built-in plugin services\.gone could not be loaded: "
                                          r"ModuleNotFoundError"):
        discover([*BUILTIN, "services.gone"])


async def test_built_in_plugins_load_without_any_entry_point(tmp_path: Path) -> None:
    """A checkout that was never installed has no entry points: /runs still has its schema."""
    app = await create_app(load_settings(None, {"data_dir": str(tmp_path)}, environ={}))
    try:
        assert {"runs", "tfjs-models", "onnx-models", "keras-models", "assets"} <= set(app.services)
        with pytest.raises(Exception, match="Data does not match the schema"):
            await app.service("runs").create({"status": 3})
        assert app.extensions.get(Storage) is not None
        with pytest.raises(LookupError, match="the app has no NotesSettings"):
            app.extensions.get(NotesSettings)
    finally:
        await app.teardown()
