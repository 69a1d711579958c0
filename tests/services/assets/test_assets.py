"""``/assets`` over REST: Marcelle's upload reply, downloads (types, Range, ETag), hostile uploads, cleanup."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from backend.config import ConfigError
from tests.services.files.support import post_form, post_raw, raw_multipart, stored_files
from tests.support.inprocess import Running, running

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
WAV = b"RIFF" + b"\x00" * 2000


async def test_upload_reply_download_and_remove(server: Running, tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as http:
        status, reply = await post_form(http, f"{server.url}/assets/upload",
                                        ("photo.png", "holiday.png", PNG), ("sound.wav", "beep.wav", WAV))
        assert status == 200
        assert set(reply) == {"holiday.png", "beep.wav"}
        folder = reply["holiday.png"].split("/")[0]
        assert reply == {"holiday.png": f"{folder}/photo.png", "beep.wav": f"{folder}/sound.wav"}
        assert len(folder) == 24

        async with http.get(f"{server.url}/assets/{reply['holiday.png']}") as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "image/png"
            assert "immutable" in r.headers["Cache-Control"]
            assert r.headers["Accept-Ranges"] == "bytes"
            assert await r.read() == PNG
            etag = r.headers["ETag"]
        async with http.get(f"{server.url}/assets/{reply['beep.wav']}", headers={"Range": "bytes=4-9"}) as r:
            assert r.status == 206
            assert r.headers["Content-Type"] == "audio/wav"
            assert r.headers["Content-Range"] == f"bytes 4-9/{len(WAV)}"
            assert await r.read() == WAV[4:10]
        async with http.get(f"{server.url}/assets/{reply['holiday.png']}", headers={"If-None-Match": etag}) as r:
            assert r.status == 304
        async with http.head(f"{server.url}/assets/{reply['holiday.png']}") as r:
            assert r.status == 200 and int(r.headers["Content-Length"]) == len(PNG)

        doc = {"filename": "holiday.png", "extension": "png", "mime": "image/png",
               "url": f"{server.url}/assets/{reply['holiday.png']}"}
        async with http.post(f"{server.url}/assets", json=doc) as r:
            assert r.status == 201
            created = await r.json()
        async with http.delete(f"{server.url}/assets/{created['_id']}") as r:
            assert r.status == 200
        async with http.get(f"{server.url}/assets/{reply['holiday.png']}") as r:
            assert r.status == 404
            assert (await r.json())["name"] == "NotFound"
        # The wav had no document: it stays.
        assert [p for p in stored_files(tmp_path)] and all("photo.png" not in p for p in stored_files(tmp_path))


async def test_patching_url_deletes_the_old_file(server: Running, tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as http:
        _, first = await post_form(http, f"{server.url}/assets/upload", ("a.png", "a.png", PNG))
        _, second = await post_form(http, f"{server.url}/assets/upload", ("b.png", "b.png", PNG[:100]))
        async with http.post(f"{server.url}/assets", json={"url": first["a.png"]}) as r:
            created = await r.json()
        async with http.patch(f"{server.url}/assets/{created['_id']}", json={"url": second["b.png"]}) as r:
            assert r.status == 200
        async with http.get(f"{server.url}/assets/{first['a.png']}") as r:
            assert r.status == 404
        async with http.get(f"{server.url}/assets/{second['b.png']}") as r:
            assert r.status == 200
        async with http.delete(f"{server.url}/assets/{created['_id']}") as r:
            assert r.status == 200
    assert stored_files(tmp_path) == []


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([("notes.txt", "notes.txt", b"hello")], "extension"),  # not whitelisted: no file accepted
        ([("../x.png", "x.png", PNG)], "field name"),
        ([("/etc/x.png", "x.png", PNG)], "field name"),
        ([("..\\x.png", "x.png", PNG)], "field name"),
        ([("x.png", "../x.png", PNG)], "file name"),
        ([("x.png", "/abs/x.png", PNG)], "file name"),
        ([("ok.png", "ok.png", PNG), ("empty.png", "empty.png", b"")], "empty"),
        ([("ok.png", "ok.png", PNG), ("ok.png", "again.png", PNG)], "twice"),
        # One file on a case-insensitive disk (macOS, Windows): the second would overwrite the first.
        ([("ok.png", "ok.png", PNG), ("OK.png", "again.png", PNG)], "twice"),
    ],
)
async def test_bad_uploads_are_400_and_keep_nothing(
    server: Running, tmp_path: Path, parts: list[tuple[str, str, bytes]], message: str
) -> None:
    async with aiohttp.ClientSession() as http:
        status, body = await post_raw(http, f"{server.url}/assets/upload", raw_multipart(parts))
    assert status == 400, body
    assert body["name"] == "BadRequest" and message in body["message"]
    assert stored_files(tmp_path) == []


async def test_truncated_multipart_is_400_and_keeps_nothing(server: Running, tmp_path: Path) -> None:
    body = raw_multipart([("a.png", "a.png", PNG), ("b.png", "b.png", PNG)], close=False)[:-300]
    async with aiohttp.ClientSession() as http:
        status, reply = await post_raw(http, f"{server.url}/assets/upload", body)
        assert status == 400 and reply["name"] == "BadRequest"
        async with http.post(f"{server.url}/assets/upload", data=b"not multipart") as r:
            assert r.status == 400
    assert stored_files(tmp_path) == []


async def test_oversize_upload_is_413_and_keeps_nothing(tmp_path: Path) -> None:
    async with running(tmp_path, config="[uploads]\nmax_size = 3000\n") as srv, aiohttp.ClientSession() as http:
        status, body = await post_form(http, f"{srv.url}/assets/upload", ("a.png", "a.png", PNG),
                                       ("b.png", "b.png", PNG), ("c.png", "c.png", PNG))
        assert status == 413 and body["name"] == "PayloadTooLarge"
        status, _ = await post_form(http, f"{srv.url}/assets/upload", ("a.png", "a.png", PNG))
        assert status == 200  # one file fits
    assert len(stored_files(tmp_path)) == 1


async def test_configured_extensions(tmp_path: Path) -> None:
    async with running(tmp_path, config='[assets]\nextensions = ["txt", ".CSV"]\n') as srv, \
            aiohttp.ClientSession() as http:
        status, reply = await post_form(http, f"{srv.url}/assets/upload", ("data.csv", "data.csv", b"a,b\n"),
                                        ("pic.png", "pic.png", PNG))
        assert status == 200 and list(reply) == ["data.csv"]  # png is not whitelisted here: skipped
        async with http.get(f"{srv.url}/assets/{reply['data.csv']}") as r:
            assert r.headers["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("config", ['[assets]\nextensions = "png"\n', "[assets]\nextensions = []\n",
                                   "[assets]\nwhatever = 1\n", "[uploads]\nmax_size = -1\n"])
async def test_bad_config_fails_loudly(tmp_path: Path, config: str) -> None:
    with pytest.raises(ConfigError):
        async with running(tmp_path, config=config):
            pass


async def test_download_of_unknown_or_hostile_paths_is_404(server: Running) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("0123456789abcdef01234567/none.png", "not-a-folder/x.png", "0123456789abcdef01234567/..%2Fx"):
            async with http.get(f"{server.url}/assets/{path}") as r:
                assert r.status == 404, path
