"""Weights transfers through a fault proxy in front of a real server: the client's retry machinery
repeats uploads and version creations safely, and a download cut short resumes with Range."""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

import python_client
from python_client.model import Model, OutputModel
from tests.python_client.faults import FaultProxy, Seen, Status
from tests.support.server import PlumeProcess

CUT = "cut"  # forwarded, then the connection closed halfway through the answer's body


class CuttingProxy(FaultProxy):
    """A FaultProxy that cuts the answer of the first request under ``cut_prefix`` halfway."""

    cut_prefix: str | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            cut = self.cut_prefix is not None and request.path.startswith(self.cut_prefix)
            if cut:
                self.cut_prefix = None
                self.seen.append(Seen(request.method, request.raw_path, dict(request.headers), CUT))
        if not cut:
            return await super()._handle(request)
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._http.get(self.upstream + request.raw_path, headers=headers) as up:
            payload = await up.read()
        resp = web.StreamResponse(status=up.status, headers={"Content-Length": str(len(payload)),
                                                              "Content-Type": "application/octet-stream"})
        await resp.prepare(request)
        await resp.write(payload[: len(payload) // 2])
        assert request.transport is not None
        request.transport.abort()
        return resp


def test_uploads_and_creates_are_repeated_safely(plume: PlumeProcess, tmp_path: Path, cache: Path, task: str) -> None:
    with FaultProxy(plume.url).threaded() as proxy:
        python_client.connect(proxy.url)
        try:
            model = OutputModel(task=task, name="flaky")
            path = tmp_path / "w.bin"
            data = os.urandom(200_000)
            path.write_bytes(data)
            # The upload meets a 503, then its answer is lost; the version's create is lost too.
            proxy.then(Status(503, '{"name": "Unavailable", "code": 503, "message": "busy"}'), "lose", "forward",
                       "lose")
            model.update_weights(str(path))
            assert OutputModel.wait_for_uploads(timeout=60)
            posts = [s.path.split("?")[0] for s in proxy.requests("POST") if s.path != "/models"]
            assert posts[:5] == ["/model-versions/upload"] * 3 + ["/model-versions"] * 2
            (version,) = Model(model.id).versions
            assert version["version"] == 1 and version["size"] == len(data)
            assert Path(model.get_weights(raise_on_error=True)).read_bytes() == data
        finally:
            python_client.disconnect()


def test_a_download_cut_short_resumes(plume: PlumeProcess, tmp_path: Path, cache: Path, task: str) -> None:
    python_client.connect(plume.url)
    model = OutputModel(task=task, name="resumed")
    path = tmp_path / "big.bin"
    data = os.urandom(3_000_000)
    path.write_bytes(data)
    model.update_weights(str(path))
    assert OutputModel.wait_for_uploads(timeout=60)
    python_client.disconnect()
    with CuttingProxy(plume.url).threaded() as proxy:
        python_client.connect(proxy.url)
        try:
            version = Model(model.id).versions[0]
            proxy.cut_prefix = f"/model-versions/{version['_id']}/"  # the file's first answer
            got = Model(model.id).get_weights(raise_on_error=True)
            assert Path(got).read_bytes() == data
            downloads = [s for s in proxy.requests("GET") if s.path.startswith(f"/model-versions/{version['_id']}/")]
            assert [d.action for d in downloads] == [CUT, "forward"]
            assert "Range" not in downloads[0].headers
            resumed_at = int(downloads[1].headers["Range"].removeprefix("bytes=").removesuffix("-"))
            assert 0 < resumed_at <= len(data) // 2  # what arrived before the cut was kept
        finally:
            python_client.disconnect()
