"""A model's run lists it among its outputs, whichever comes first; input models lend their design."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from python_client.ids import object_id
from tests.support.inprocess import Running

from .support import Registry


@pytest.fixture
async def reg(server: Running) -> AsyncIterator[Registry]:
    async with Registry(server.url) as client:
        yield client


async def outputs(reg: Registry, run_id: str) -> list[dict]:
    run = (await reg.call("GET", f"/runs/{run_id}")).body
    return run.get("associations", {}).get("outputs", [])


async def test_the_run_lists_its_models_once(reg: Registry) -> None:
    run = (await reg.call("POST", "/runs", {"name": "mnist-1",
                                            "associations": {"inputs": [], "outputs": [
                                                {"kind": "artifact", "id": "a1", "name": "plot"}]}})).body
    model = await reg.model(name="cnn", task=run["_id"])
    expected = [{"kind": "artifact", "id": "a1", "name": "plot"}, {"kind": "model", "id": model["_id"], "name": "cnn"}]
    assert await outputs(reg, run["_id"]) == expected
    await reg.call("PATCH", f"/models/{model['_id']}", {"task": run["_id"], "comment": "again"})
    assert await outputs(reg, run["_id"]) == expected  # no duplicate
    await reg.call("PATCH", f"/models/{model['_id']}", {"name": "cnn-2"})
    assert (await outputs(reg, run["_id"]))[1]["name"] == "cnn-2"
    await reg.call("DELETE", f"/models/{model['_id']}")
    assert await outputs(reg, run["_id"]) == expected[:1]


async def test_a_run_created_after_its_model_lists_it(reg: Registry) -> None:
    run_id = object_id()  # a Writer's run, not sent yet
    model = await reg.model(name="late", task=run_id)
    assert (await reg.call("POST", "/runs", {"_id": run_id, "name": "r"})).status == 201
    assert await outputs(reg, run_id) == [{"kind": "model", "id": model["_id"], "name": "late"}]


async def test_connecting_a_model_to_another_run(reg: Registry) -> None:
    first = (await reg.call("POST", "/runs", {"name": "a"})).body
    second = (await reg.call("POST", "/runs", {"name": "b"})).body
    model = await reg.model(task=first["_id"])
    answer = await reg.call("PATCH", f"/models/{model['_id']}", {"task": second["_id"]})
    assert answer.body["task"] == second["_id"]
    assert [o["id"] for o in await outputs(reg, second["_id"])] == [model["_id"]]


async def test_a_new_model_takes_the_design_of_its_runs_input_model(reg: Registry) -> None:
    base = await reg.model(name="base", config_text='{"units": 8}', labels={"cat": 0, "dog": 1})
    run = (await reg.call("POST", "/runs", {"name": "finetune", "associations": {
        "inputs": [{"kind": "dataset", "id": "d1", "name": "pets"},
                   {"kind": "model", "id": base["_id"], "name": "base"}],
        "outputs": []}})).body
    inherited = await reg.model(name="tuned", task=run["_id"])
    assert (inherited["config_text"], inherited["labels"]) == ('{"units": 8}', {"cat": 0, "dog": 1})
    own = await reg.model(name="own", task=run["_id"], labels={"bird": 0})
    assert (own["config_text"], own["labels"]) == ('{"units": 8}', {"bird": 0})
    plain = await reg.model(name="plain")
    assert (plain.get("config_text"), plain.get("labels")) == (None, None)


async def test_writers_of_a_run_do_not_drop_its_models(reg: Registry) -> None:
    run = (await reg.call("POST", "/runs", {"name": "em-run"})).body
    model = await reg.model(name="kept", task=run["_id"])
    entry = {"kind": "model", "id": model["_id"], "name": "kept"}
    mine = {"kind": "artifact", "id": "a9", "name": "logs"}
    # A client sends the associations it knows (not the registry's): both are kept, in the order
    # they came (the tracking plugin appends what a client's patch adds).
    patched = await reg.call("PATCH", f"/runs/{run['_id']}", {"associations": {"inputs": [], "outputs": [mine]}})
    assert patched.body["associations"]["outputs"] == [entry, mine]
    replaced = await reg.call("PUT", f"/runs/{run['_id']}", {"name": "em-run", "status": "success"})
    assert replaced.body["associations"]["outputs"] == [entry]
    other = await reg.call("PATCH", f"/runs/{run['_id']}", {"status": "error"})  # no associations: untouched
    assert other.body["associations"]["outputs"] == [entry]
    await reg.call("DELETE", f"/models/{model['_id']}")
    assert await outputs(reg, run["_id"]) == []
