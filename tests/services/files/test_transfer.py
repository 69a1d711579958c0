"""Hostile multipart uploads: malformed part headers and too many parts are 4xx and keep nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from tests.services.files.support import form, post_raw, stored_files
from tests.support.inprocess import running

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def with_header(header: bytes) -> bytes:
    return (b'--b\r\nContent-Disposition: form-data; name="a.png"; filename="a.png"\r\n' + header
            + b"\r\n\r\n" + PNG + b"\r\n--b--\r\n")


@pytest.mark.parametrize("header", [
    b"X-Bad: a\x00b",  # a NUL byte
    b"X-Long: " + b"a" * 16384,  # a 16 kB line
    b'Content-Disposition: form-data; name="a.png"; filename="a\x00.png"',
], ids=["nul", "long-line", "nul-in-disposition"])
@pytest.mark.parametrize("service", ["assets", "tfjs-models"])
async def test_malformed_part_headers_are_400(tmp_path: Path, header: bytes, service: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        status, body = await post_raw(http, f"{srv.url}/{service}/upload", with_header(header), boundary="b")
    assert status == 400 and body["name"] == "BadRequest", body
    assert "Malformed multipart part" in body["message"]
    assert stored_files(tmp_path) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_upload_with_too_many_parts_is_413_and_keeps_nothing(tmp_path: Path) -> None:
    async with running(tmp_path, config="[uploads]\nmax_parts = 10\n") as srv, aiohttp.ClientSession() as http:
        parts = [(f"group1-shard{i}of11.bin", f"s{i}.bin", b"w") for i in range(11)]
        async with http.post(f"{srv.url}/tfjs-models/upload", data=form(*parts)) as r:
            body = await r.json()
            assert r.status == 413 and body["name"] == "PayloadTooLarge", body
            assert "more than 10 parts" in body["message"]
        assert stored_files(tmp_path) == []
        async with http.post(f"{srv.url}/tfjs-models/upload", data=form(*parts[:10])) as r:
            assert r.status == 200  # ten is fine


async def test_max_parts_must_be_a_positive_integer(tmp_path: Path) -> None:
    from backend.config import ConfigError

    with pytest.raises(ConfigError, match="max_parts"):
        async with running(tmp_path, config="[uploads]\nmax_parts = 0\n"):
            pass
