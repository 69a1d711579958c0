"""The ``models`` service over REST: defaults, server-written fields, labels, the published state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.inprocess import Running

from .support import Registry


@pytest.fixture
async def reg(server: Running) -> AsyncIterator[Registry]:
    async with Registry(server.url) as client:
        yield client


async def count(reg: Registry, path: str) -> int:
    answer = await reg.call("GET", f"{path}?$limit=0")
    return int(answer.body["total"])


async def test_a_new_model_has_no_weights_and_is_not_published(reg: Registry) -> None:
    answer = await reg.call("POST", "/models", {"name": "cnn", "uri": "s3://x/y", "version": 7, "published": True,
                                                "publishedAt": "2020-01-01T00:00:00.000Z", "framework": "my-fw 0.1"})
    assert answer.status == 201
    doc = answer.body
    assert (doc["uri"], doc["version"], doc["versionId"], doc["published"], doc["publishedAt"]) == (
        None, 0, None, False, None)
    assert doc["framework"] == "my-fw 0.1"  # any framework name is kept as given
    assert doc["tags"] == [] and doc["convert"] == ["tfjs", "onnx"]


async def test_a_model_without_name_gets_one(reg: Registry) -> None:
    answer = await reg.call("POST", "/models", {})
    assert answer.status == 201 and answer.body["name"] == "untitled model"


@pytest.mark.parametrize("labels, field", [
    ({"cat": 0, "dog": 0}, "labels.dog"),
    ({"cat": 0, "dog": "1"}, "labels.dog"),
    ({"cat": 0, "dog": 1.5}, "labels.dog"),
    ({"cat": True}, "labels.cat"),
    ({"cat": 1.0}, "labels.cat"),
    (["cat"], "labels"),
])
async def test_bad_labels_are_refused_and_nothing_is_stored(reg: Registry, labels: object, field: str) -> None:
    before = await count(reg, "/models")
    answer = await reg.call("POST", "/models", {"name": "m", "labels": labels})
    assert answer.status == 400, answer.body
    assert field in answer.body["errors"]
    assert await count(reg, "/models") == before


async def test_clients_cannot_write_the_weights_pointer(reg: Registry) -> None:
    model = await reg.model()
    answer = await reg.call("PATCH", f"/models/{model['_id']}", {"uri": "s3://evil", "version": 3, "comment": "c"})
    assert answer.status == 200
    assert (answer.body["uri"], answer.body["version"], answer.body["comment"]) == (None, 0, "c")
    replaced = await reg.call("PUT", f"/models/{model['_id']}", {"name": "renamed"})
    assert replaced.status == 200
    assert (replaced.body["name"], replaced.body["version"], replaced.body["published"]) == ("renamed", 0, False)


async def test_published_models_refuse_weight_design_and_label_changes(reg: Registry) -> None:
    model = await reg.model(config_text="units: 3", labels={"a": 0})
    assert (await reg.version(model["_id"])).status == 201
    published = await reg.call("PATCH", f"/models/{model['_id']}", {"published": True})
    assert published.status == 200 and published.body["published"] is True
    stamp = published.body["publishedAt"]
    assert stamp is not None

    for change in ({"config_text": "units: 4"}, {"labels": {"b": 1}}):
        refused = await reg.call("PATCH", f"/models/{model['_id']}", change)
        assert refused.status == 409, refused.body
        assert refused.body["name"] == "Conflict"
    refused = await reg.call("PUT", f"/models/{model['_id']}", {"name": "m", "config_text": "other"})
    assert refused.status == 409
    renamed = await reg.call("PUT", f"/models/{model['_id']}", {"name": "m2"})  # a replace keeps the design
    assert renamed.status == 200
    assert (renamed.body["config_text"], renamed.body["labels"], renamed.body["version"]) == ("units: 3", {"a": 0}, 1)
    refused = await reg.version(model["_id"], b"new weights")
    assert refused.status == 409 and "published" in refused.body["message"]

    allowed = await reg.call("PATCH", f"/models/{model['_id']}", {"comment": "best so far", "tags": ["prod"],
                                                                   "config_text": "units: 3"})  # unchanged: fine
    assert allowed.status == 200 and allowed.body["tags"] == ["prod"]
    again = await reg.call("PATCH", f"/models/{model['_id']}", {"published": True})  # idempotent
    assert again.status == 200 and again.body["publishedAt"] == stamp
    versions = await reg.call("GET", f"/model-versions?model={model['_id']}")
    assert versions.body["total"] == 1  # the refused weights left no version
    final = await reg.call("GET", f"/models/{model['_id']}")
    assert (final.body["version"], final.body["config_text"], final.body["labels"]) == (1, "units: 3", {"a": 0})


async def test_without_authentication_anybody_may_unpublish_and_remove(reg: Registry) -> None:
    model = await reg.model()
    await reg.call("PATCH", f"/models/{model['_id']}", {"published": True})
    unpublished = await reg.call("PATCH", f"/models/{model['_id']}", {"published": False})
    assert unpublished.status == 200 and unpublished.body["publishedAt"] is None
    await reg.call("PATCH", f"/models/{model['_id']}", {"published": True})
    assert (await reg.call("DELETE", f"/models/{model['_id']}")).status == 200


async def test_a_model_is_created_one_at_a_time_and_changed_one_at_a_time(reg: Registry) -> None:
    answer = await reg.call("PATCH", "/models", {"published": True})
    assert answer.status in (400, 405)
