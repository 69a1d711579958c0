"""A server killed (SIGKILL) in the middle of an upload leaves no partial file once it restarts."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.support.server import PlumeProcess

BOUNDARY = "plumeboundary"
FAIL_AFTER = 30.0


def partial_uploads(data: Path) -> list[Path]:
    return [p for p in (data / "files").rglob(".plume-upload-*") if p.is_file()]


def test_a_killed_upload_leaves_nothing_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "server"
    with PlumeProcess(data) as srv:
        head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"model.weights.bin\"; "
                f"filename=\"w.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            sock.sendall(f"POST /tfjs-models/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
                         f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n".encode() + head)
            deadline = time.monotonic() + FAIL_AFTER
            while not partial_uploads(data):  # the server streams the part into a temporary file
                assert time.monotonic() < deadline, "no upload in progress"
                sock.sendall(b"\0" * 65536)
            srv.kill()
        assert partial_uploads(data)  # what a crash leaves behind
        srv.start()
        assert partial_uploads(data) == []
