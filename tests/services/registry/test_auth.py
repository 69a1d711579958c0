"""Permission rules with authentication on: owners, other editors, anonymous callers, admins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from python_client.ids import object_id
from tests.auth.support import Actor, auth_server
from tests.support.inprocess import Running

from .support import Registry


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Running, dict[str, Actor]]]:
    async with auth_server(tmp_path) as pair:
        yield pair


def as_(srv: Running, actor: Actor) -> Registry:
    return Registry(srv.url, actor.token)


async def test_anonymous_callers_may_not_write(world: tuple[Running, dict[str, Actor]]) -> None:
    srv, actors = world
    async with as_(srv, actors["anonymous"]) as anon:
        assert (await anon.call("POST", "/models", {"name": "m"})).status == 401
        assert (await anon.upload(object_id(), b"w")).status == 401


async def test_only_the_owner_changes_a_model_or_adds_versions(world: tuple[Running, dict[str, Actor]]) -> None:
    srv, actors = world
    async with as_(srv, actors["editorA"]) as a, as_(srv, actors["editorB"]) as b:
        private = await a.model(name="private")
        public = await a.model(name="public", public=True)
        assert private["userId"] == actors["editorA"].id
        assert (await a.version(private["_id"], b"w1")).status == 201

        assert (await b.call("GET", f"/models/{private['_id']}")).status == 404
        assert (await b.call("PATCH", f"/models/{private['_id']}", {"comment": "mine"})).status == 404
        assert (await b.call("GET", f"/models/{public['_id']}")).status == 200
        assert (await b.call("PATCH", f"/models/{public['_id']}", {"comment": "mine"})).status == 403
        refused = await b.version(public["_id"], b"intruder")
        assert refused.status == 403, refused.body
        hidden = await b.version(private["_id"], b"intruder")
        assert hidden.status == 400 and "model" in hidden.body["errors"]  # a model B cannot see: no such model
        for model in (private, public):
            current = (await a.call("GET", f"/models/{model['_id']}")).body
            assert current["version"] == (1 if model is private else 0)

        version = (await a.call("GET", f"/model-versions?model={private['_id']}")).body["data"][0]
        assert (await b.call("GET", version["uri"])).status == 404
        assert (await a.call("GET", version["uri"])).body == b"w1"


async def test_uploads_belong_to_their_uploader(world: tuple[Running, dict[str, Actor]]) -> None:
    srv, actors = world
    async with as_(srv, actors["editorA"]) as a, as_(srv, actors["editorB"]) as b:
        version_id = object_id()
        upload = await a.upload(version_id, b"A's weights")
        assert upload.status == 200
        assert (await b.upload(version_id, b"B's weights")).status == 403
        own = await b.model()
        stolen = await b.call("POST", "/model-versions", {"_id": version_id, "model": own["_id"],
                                                          "ref": upload.body["ref"]})
        assert stolen.status == 403
        mine = await a.model()
        made = await a.call("POST", "/model-versions", {"_id": version_id, "model": mine["_id"],
                                                        "ref": upload.body["ref"]})
        assert made.status == 201 and made.body["userId"] == actors["editorA"].id


async def test_published_models_stay_published_unless_an_admin_says_so(world: tuple[Running, dict[str, Actor]]) -> None:
    srv, actors = world
    async with as_(srv, actors["editorA"]) as a, as_(srv, actors["admin"]) as admin:
        model = await a.model()
        assert (await a.call("PATCH", f"/models/{model['_id']}", {"published": True})).status == 200
        assert (await a.call("PATCH", f"/models/{model['_id']}", {"published": False})).status == 409
        assert (await a.call("DELETE", f"/models/{model['_id']}")).status == 403
        assert (await a.call("GET", f"/models/{model['_id']}")).body["published"] is True
        assert (await admin.call("PATCH", f"/models/{model['_id']}", {"published": False})).status == 200
        assert (await a.call("PATCH", f"/models/{model['_id']}", {"published": True})).status == 200
        assert (await admin.call("DELETE", f"/models/{model['_id']}")).status == 200


async def test_a_model_may_only_name_a_run_its_creator_may_read(world: tuple[Running, dict[str, Actor]]) -> None:
    srv, actors = world
    async with as_(srv, actors["editorA"]) as a, as_(srv, actors["editorB"]) as b:
        run = (await a.call("POST", "/runs", {"name": "a-run"})).body
        refused = await b.call("POST", "/models", {"name": "claim", "task": run["_id"]})
        assert refused.status == 403 and "task" in refused.body["errors"]
        assert (await a.call("GET", f"/runs/{run['_id']}")).body.get("associations") is None
        made = await a.model(task=run["_id"])
        outputs = (await a.call("GET", f"/runs/{run['_id']}")).body["associations"]["outputs"]
        assert outputs == [{"kind": "model", "id": made["_id"], "name": "m"}]
