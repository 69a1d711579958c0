"""Artifacts' server history: uploads and downloads (a download counted once per artifact fetched,
from the first byte of its files; a HEAD, a 304 or a resumed range is no new download)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.inprocess import running

from .support import Http

FILES = {"a.txt": b"alpha" * 100, "b.bin": b"beta" * 1000}


async def artifact_with_files(http: Http) -> dict[str, Any]:
    form = aiohttp.FormData()
    for name, data in FILES.items():
        form.add_field(hashlib.sha256(data).hexdigest(), data, filename=name)
    status, reply = await http("POST", "/artifacts/upload", data=form)
    assert status == 200, reply
    objects = [{"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
               for name, data in FILES.items()]
    status, doc = await http("POST", "/artifacts", {"name": "data", "folder": "default", "objects": objects})
    assert status == 201, doc
    return doc  # type: ignore[no-any-return]


async def test_downloads_are_recorded_in_the_history(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        doc = await artifact_with_files(http)
        shas = [o["sha256"] for o in doc["objects"]]
        assert [h["event"] for h in doc["history"]] == ["upload"]
        for sha in shas:  # a client loading the artifact: each file from its start
            async with s.get(f"{srv.url}/artifacts/{doc['_id']}/{sha}") as r:
                assert r.status == 200 and await r.read() in FILES.values()
                etag = r.headers["ETag"]
        async with s.head(f"{srv.url}/artifacts/{doc['_id']}/{shas[0]}") as r:
            assert r.status == 200
        async with s.get(f"{srv.url}/artifacts/{doc['_id']}/{shas[1]}", headers={"Range": "bytes=10-"}) as r:
            assert r.status == 206
        async with s.get(f"{srv.url}/artifacts/{doc['_id']}/{shas[1]}", headers={"If-None-Match": etag}) as r:
            assert r.status == 304
        status, after = await http("GET", f"/artifacts/{doc['_id']}")
        assert status == 200
        upload, download = after["history"]
        assert upload == doc["history"][0]
        assert (download["event"], download["by"], download["files"]) == ("download", "anonymous", 2)
        assert download["at"] <= download["last"]
        assert after["updatedAt"] == doc["updatedAt"]  # a download is no change of the artifact
        # A write of the objects after it appends its upload, keeping the download.
        status, patched = await http("PATCH", f"/artifacts/{doc['_id']}", {"objects": doc["objects"][:1]})
        assert status == 200 and [h["event"] for h in patched["history"]] == ["upload", "download", "upload"]
