"""Static pages mounted by a plugin (backend/pages.py): the root page and a folder of files."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from backend.pages import static_pages
from tests.support.inprocess import running


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>Plume</title>")
    (folder / "assets" / "app-3f2a9c1d.js").write_text("console.log(1)")
    (folder / ".secret").write_text("no")
    (tmp_path / "outside.txt").write_text("no")
    return folder


async def test_the_root_page_and_its_files(tmp_path: Path, site: Path) -> None:
    async with running(tmp_path / "data") as srv, aiohttp.ClientSession() as http:
        srv.app.mount("/", static_pages(site))
        srv.app.mount("/_site", static_pages(site))
        async with http.get(f"{srv.url}/") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
            assert r.headers["Cache-Control"] == "no-cache" and "Plume" in await r.text()
            etag = r.headers["ETag"]
        async with http.get(f"{srv.url}/", headers={"If-None-Match": etag}) as r:
            assert r.status == 304
        async with http.get(f"{srv.url}/_site/assets/app-3f2a9c1d.js") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/javascript")
            assert "immutable" in r.headers["Cache-Control"]
        for path in ("/_site/.secret", "/_site/../outside.txt", "/_site/%2e%2e/outside.txt", "/_site/nope.js",
                     "/_other/x", "/_site/assets"):
            async with http.get(srv.url + path) as r:
                assert r.status == 404 and (await r.json())["name"] == "NotFound", path
        async with http.post(f"{srv.url}/_site/assets/app-3f2a9c1d.js") as r:
            assert r.status == 405
        async with http.get(f"{srv.url}/runs") as r:  # services are untouched
            assert r.status == 200 and "data" in await r.json()


async def test_mount_points_are_checked(tmp_path: Path, site: Path) -> None:
    async with running(tmp_path / "data") as srv:
        for point in ("/runs", "/_", "/_A", "x", "/_a/b"):
            with pytest.raises(ValueError, match="cannot mount"):
                srv.app.mount(point, static_pages(site))
        srv.app.mount("/", static_pages(site))
        with pytest.raises(ValueError):
            srv.app.mount("/", static_pages(site))


async def test_without_pages_the_root_is_404(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        async with http.get(f"{srv.url}/") as r:
            assert r.status == 404
