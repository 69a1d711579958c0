"""What tracking adds to runs: associations appended by clients (replaced by the server's own calls)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.support.inprocess import running

from .support import Http, new_run

MODEL = {"kind": "model", "id": "m1", "name": None}  # the registry may know no name yet
ARTIFACT = {"kind": "artifact", "id": "a1", "name": "data"}


async def test_clients_append_associations_and_the_server_replaces(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        run = (await new_run(http, associations={"inputs": [ARTIFACT], "outputs": []}))["_id"]
        await srv.app.service("runs").patch(run, {"associations": {"inputs": [ARTIFACT], "outputs": [MODEL]}})
        status, doc = await http("PATCH", f"/runs/{run}", {"associations": {"inputs": [{**ARTIFACT, "name": "v2"}],
                                                                             "outputs": [ARTIFACT]}})
        assert status == 200
        assert doc["associations"] == {"inputs": [{**ARTIFACT, "name": "v2"}], "outputs": [MODEL, ARTIFACT]}
        status, doc = await http("PUT", f"/runs/{run}", {"name": "r", "associations": {"outputs": []}})
        assert doc["associations"]["outputs"] == [MODEL, ARTIFACT]  # a replace keeps them too
        await srv.app.service("runs").patch(run, {"associations": {"inputs": [], "outputs": [ARTIFACT]}})
        assert (await http("GET", f"/runs/{run}"))[1]["associations"] == {"inputs": [], "outputs": [ARTIFACT]}
        for bad in ({"inputs": [{"kind": "checkpoint", "id": "x"}]}, {"outputs": [{"kind": "model"}]},
                    {"sideways": []}):
            assert (await http("PATCH", f"/runs/{run}", {"associations": bad}))[0] == 400, bad
