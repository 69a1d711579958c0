"""Hostile multipart uploads: malformed part headers and too many parts are 4xx and keep nothing;
clients that leave mid-upload are one WARNING line a minute, never an ERROR or a traceback."""

from __future__ import annotations

import logging
import socket
import struct
import time
from pathlib import Path

import aiohttp
import pytest

from tests.services.files.support import form, post_raw, stored_files
from tests.support.inprocess import running
from tests.support.server import PlumeProcess

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


FAIL_AFTER = 30.0  # seconds before a wait for the server gives up


def partial_uploads(data: Path) -> list[Path]:
    return [p for p in (data / "files").rglob(".plume-upload-*") if p.is_file()]


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + FAIL_AFTER
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def leave_mid_upload(srv: PlumeProcess, reset: bool) -> None:
    """Start an upload of 100 MB, send part of it, wait until the server is writing it to a
    temporary file, then go away (a reset, or an ordinary close)."""
    head = (b'--b\r\nContent-Disposition: form-data; name="model.weights.bin"; filename="w.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")
    sock = socket.create_connection(("127.0.0.1", srv.port))
    sock.sendall(b"POST /tfjs-models/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
                 b"Content-Type: multipart/form-data; boundary=b\r\n\r\n" + head)
    deadline = time.monotonic() + FAIL_AFTER
    while not partial_uploads(srv.data_dir):
        assert time.monotonic() < deadline, "no upload in progress"
        sock.sendall(b"\0" * 65536)
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    # The server has dealt with it once it removed the partial file.
    wait_for(lambda: not partial_uploads(srv.data_dir), "the partial upload was not removed")


def test_clients_leaving_mid_upload_log_one_warning_and_no_error(tmp_path: Path) -> None:
    with PlumeProcess(tmp_path / "server") as srv:
        for reset in (True, False, True):
            leave_mid_upload(srv, reset)
        log = srv.log()
    gone = [line for line in log.splitlines() if "went away" in line]
    assert len(gone) == 1 and "WARNING" in gone[0], log[-3000:]
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
