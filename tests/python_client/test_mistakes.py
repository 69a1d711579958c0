"""The first hour: a new user's mistakes get an error that names the fix, at once, in both shells.

A URL that is not a Plume server's, a URL without ``http://``, a query not wrapped in
``{"query": ...}``, a download into a folder that does not exist, a bad API key on ``.on()``, a
text file uploaded as a ``.keras`` model. The tests run against a real server, over both client
shells (the ``shell`` fixture) where the mistake is made through them (``Remote`` is sync only).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp import web

from python_client import Remote, RetryPolicy, Writer
from python_client.errors import BadRequest, ConnectionFailed, NoPlumeServer, NotAuthenticated
from python_client.failures import Kind, classify
from python_client.multipart import FilePart
from tests.auth.support import auth_server
from tests.support.inprocess import Running
from tests.support.server import PlumeProcess, free_port

from .faults import FaultProxy
from .shells import Shell, png

FAST = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.05)


def not_plume(url: str, answer: str, hint: str) -> str:
    return f"no Plume server at {url}: GET {url}/info answered {answer}; {hint}"


async def test_a_url_with_a_path_is_not_a_plume_server(shell: Shell, server: Running, name: str) -> None:
    url = f"{server.url}/api"  # the server reads "api" as a service and "people" as a record id
    expected = not_plume(url, "404 (No record found for id 'info')", f"did you mean {server.url}?")
    async with shell.store(url) as store:
        for call in (store.service("people").find, lambda: store.service("people").create({"name": "Ann"}),
                     lambda: store.service("people").on("created", print)):
            with pytest.raises(NoPlumeServer) as info:
                await call()
            assert info.value.message == expected
        assert isinstance(info.value, BadRequest) and classify(info.value) is Kind.LASTING
        with pytest.raises(NoPlumeServer, match="no Plume server at"):
            await store.info()
    async with shell.store(server.url) as store:
        assert name not in (await store.info())["services"]  # nothing was created on the way


async def test_another_web_server_is_not_a_plume_server(shell: Shell) -> None:
    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<html><body>Welcome to nginx!</body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    url = f"http://127.0.0.1:{free_port()}"
    await web.TCPSite(runner, "127.0.0.1", int(url.rsplit(":", 1)[1])).start()
    try:
        async with shell.store(url) as store:
            with pytest.raises(NoPlumeServer) as info:
                await store.service("people").find()
    finally:
        await runner.cleanup()
    assert info.value.message == not_plume(url, "a page that is not JSON", "is a Plume server running there?")


async def test_the_probe_is_asked_once_per_store(shell: Shell, server: Running, name: str) -> None:
    async with FaultProxy(server.url) as proxy:
        async with shell.store(proxy.url) as store:
            rec = await store.service(name).create({"x": 1})
            await store.service(name).get(rec["_id"])
            await store.info()
            assert len(proxy.probes) == 2  # the first call's, then info() itself
        async with shell.store(proxy.url) as store:
            await store.service(name).find()
        assert len(proxy.probes) == 3 and len(proxy.requests()) == 3


async def test_a_server_that_is_down_stays_a_transport_failure(shell: Shell, tmp_path: Path, name: str) -> None:
    port = free_port()
    async with shell.store(f"http://127.0.0.1:{port}", retry=FAST) as store:
        with pytest.raises(ConnectionFailed) as info:
            await store.service(name).find()
        assert not info.value.maybe_sent and info.value.attempts == 2 and classify(info.value) is Kind.UNREACHABLE
        with PlumeProcess(tmp_path, port=port):  # up now: the next call probes again, and goes through
            assert (await store.service(name).find())["total"] == 0
            assert store.http.probe.confirmed


def test_a_url_without_scheme_is_refused_with_the_fix(shell: Shell, tmp_path: Path) -> None:
    message = "the backend URL 'localhost:3030' has no scheme: did you mean 'http://localhost:3030'?"
    with pytest.raises(ValueError) as info:
        shell.store("localhost:3030")
    assert str(info.value) == message
    with pytest.raises(ValueError, match="did you mean 'http://localhost:3030'"):
        Remote("localhost:3030")
    with pytest.raises(ValueError, match="did you mean 'http://localhost:3030'"):
        Writer("run", "localhost:3030", base_log_dir=tmp_path)
    with pytest.raises(ValueError) as info:
        shell.store("ftp://localhost:3030")
    assert str(info.value) == "the backend URL 'ftp://localhost:3030' must start with http:// or https://"
    with pytest.raises(ValueError) as info:
        shell.store("http://")
    assert str(info.value) == "the backend URL 'http://' names no host: for example 'http://localhost:3030'"


async def test_a_bare_query_is_refused_with_the_fix(shell: Shell, server: Running, name: str) -> None:
    async with shell.store(server.url) as store:
        people = store.service(name)
        await people.create({"name": "Ann", "age": 31})
        with pytest.raises(ValueError) as info:
            await people.find({"age": {"$gt": 30}})
        assert str(info.value) == ("find() got params with 'age', which are not Feathers params: a query goes inside "
                                   "'query', as in find(..., {'query': {'age': {'$gt': 30}}})")
        with pytest.raises(ValueError, match=r"patch\(\) got params with 'age'"):
            await people.patch(None, {"age": 40}, {"age": 31})
        with pytest.raises(ValueError, match=r"remove\(\) got params with '\$limit', 'age'"):
            await people.remove(None, {"age": 31, "$limit": 1})
        with pytest.raises(TypeError, match=r"find\(\) takes params as a dict"):
            await people.find("age=31")
        with pytest.raises(ValueError) as info:
            await people.items({"query": {"age": 31}})
        assert str(info.value) == "items() takes the query itself, not params: items({'age': 31})"
        assert (await people.find({"query": {"age": {"$gt": 30}}}))["total"] == 1  # nothing was changed


async def test_download_into_a_folder(shell: Shell, server: Running, tmp_path: Path) -> None:
    work = tmp_path / "work"  # (tmp_path holds the server's data too)
    work.mkdir()
    photo = png(work / "holiday.png")
    async with shell.store(server.url) as store:
        assets = store.service("assets")
        folder, field = (await assets.upload([FilePart.of(photo, content_type="image/png")]))["holiday.png"].split("/")
        into = work / "into"
        into.mkdir()
        assert await assets.download(folder, field, into) == into / field  # the file keeps its name
        assert await assets.download(folder, field, f"{into}/") == into / field
        assert (into / field).read_bytes() == photo.read_bytes()
        missing = f"{work}/missing-dir/"
        with pytest.raises(FileNotFoundError) as info:
            await assets.download(folder, field, missing)
        assert str(info.value) == f"cannot download {field} into {missing}: no such folder"
        with pytest.raises(FileNotFoundError) as info:
            await assets.download(folder, field, work / "missing-dir" / "copy.png")
        assert str(info.value) == (f"cannot download {field} to {work}/missing-dir/copy.png: no such folder "
                                   f"{work}/missing-dir")
    assert sorted(p.name for p in work.iterdir()) == ["holiday.png", "into"]  # no file named after the folder


async def test_on_with_a_bad_api_key_raises(shell: Shell, tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, _), shell.store(srv.url, api_key="plume_not-a-key") as bad:
        notes = bad.service("notes")
        with pytest.raises(NotAuthenticated) as info:
            await notes.on("created", print)
        assert info.value.message == f"the realtime connection to {srv.url} refused the credentials: Invalid API key"
        assert not bad.realtime.connected and not bad.realtime.subscriptions  # nothing left half-open
        with pytest.raises(NotAuthenticated):  # the same key on REST
            await notes.find()


async def test_a_writer_pointed_at_a_path_says_so(server: Running, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Training goes on; the run stays on disk; the log names the URL and its fix (not a 405)."""
    url = f"{server.url}/api"
    writer = Writer("typo", url, base_log_dir=tmp_path / "logs")
    with caplog.at_level(logging.WARNING, "python_client"):
        writer.create_run(run_params={"lr": 0.1})
        writer.train_begin(1)
        writer.save_epoch(1, {"loss": 0.5})
        writer.train_end()
        assert await asyncio.to_thread(writer.wait_for_uploads, None) is False  # a lasting error: no retries
    writer.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    cause = not_plume(url, "404 (No record found for id 'info')", f"did you mean {server.url}?")
    assert len(errors) == 1 and errors[0].startswith(f"Plume: {cause}. Training goes on")
    # Not the old "405 MethodNotAllowed" (the URL itself, with its random port, may hold "405").
    assert "MethodNotAllowed" not in errors[0] and "405 " not in errors[0].replace(server.url, "")
    assert writer.run_data is not None and writer.run_data["status"] == "success"


def test_a_text_file_named_model_keras_is_refused_with_the_reason(plume_process: PlumeProcess, tmp_path: Path) -> None:
    model = tmp_path / "model.keras"
    model.write_text("not a model\n")
    remote = Remote(plume_process.url)
    try:
        with pytest.raises(BadRequest) as info:
            remote.upload_keras_model(model)
        assert info.value.message == ("File 'model.keras' (field 'model.keras') is not a .keras model: "
                                      "it is not a zip archive (a .keras file is one)")
        assert remote.store.service("keras-models").find()["total"] == 0  # nothing was stored
    finally:
        remote.close()
