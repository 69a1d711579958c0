"""``model-versions`` over REST: uploads streamed with their SHA-256, numbered versions, downloads,
immutability, and refused input that leaves nothing behind."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from python_client.ids import object_id
from tests.support.inprocess import Running, running

from .support import Registry, sha256


@pytest.fixture
async def reg(server: Running) -> AsyncIterator[Registry]:
    async with Registry(server.url) as client:
        yield client


def stored_files(srv: Running) -> list[Path]:
    root = Path(srv.app.settings.data_dir) / "files" / "model-versions"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_each_weights_update_appends_a_numbered_version(reg: Registry, server: Running) -> None:
    model = await reg.model()
    contents = [os.urandom(300_000), os.urandom(1000)]
    versions = []
    for i, content in enumerate(contents):
        answer = await reg.version(model["_id"], content, f"epoch-{i}.bin", iteration=i)
        assert answer.status == 201, answer.body
        versions.append(answer.body)
    first, second = versions
    assert (first["version"], second["version"]) == (1, 2)
    assert first["sha256"] == sha256(contents[0]) and first["size"] == len(contents[0])
    assert first["filename"] == "epoch-0.bin" and first["iteration"] == 0 and first["package"] is False
    assert second["uri"] == f"/model-versions/{second['_id']}/epoch-1.bin"
    current = (await reg.call("GET", f"/models/{model['_id']}")).body
    assert (current["version"], current["uri"], current["versionId"]) == (2, second["uri"], second["_id"])

    whole = await reg.call("GET", first["uri"])
    assert whole.status == 200 and whole.body == contents[0]
    part = await reg.call("GET", first["uri"], headers={"Range": "bytes=100-199"})
    assert part.status == 206 and part.body == contents[0][100:200]
    wrong = await reg.call("GET", f"/model-versions/{first['_id']}/other.bin")
    assert wrong.status == 404


async def test_versions_are_immutable(reg: Registry) -> None:
    model = await reg.model()
    version = (await reg.version(model["_id"], b"abc")).body
    for verb, body in (("PATCH", {"iteration": 3}), ("PUT", {"model": model["_id"], "uri": "s3://x"}),
                       ("DELETE", None)):
        answer = await reg.call(verb, f"/model-versions/{version['_id']}", body)
        assert answer.status == 405, (verb, answer.body)
    again = await reg.upload(version["_id"], b"other")
    assert again.status == 409
    assert (await reg.call("GET", version["uri"])).body == b"abc"
    repeat = await reg.call("POST", "/model-versions", {"_id": version["_id"], "model": model["_id"],
                                                        "ref": version["ref"]})
    assert repeat.status == 409  # what a client reads as "created by my earlier attempt"


async def test_a_repeated_upload_replaces_the_first(reg: Registry, server: Running) -> None:
    model = await reg.model()
    version_id = object_id()
    assert (await reg.upload(version_id, b"first try", "a.bin")).status == 200
    second = await reg.upload(version_id, b"second try", "b.bin")
    assert second.status == 200 and second.body["sha256"] == sha256(b"second try")
    assert [p.name for p in stored_files(server) if p.parent.name == version_id] == ["b.bin"]
    made = await reg.call("POST", "/model-versions",
                          {"_id": version_id, "model": model["_id"], "ref": second.body["ref"]})
    assert made.status == 201 and made.body["sha256"] == sha256(b"second try")


async def test_versions_registered_by_uri(reg: Registry) -> None:
    model = await reg.model()
    answer = await reg.call("POST", "/model-versions", {"model": model["_id"], "uri": "s3://bucket/run/w.h5",
                                                        "sha256": "a" * 64, "size": 12, "iteration": 5})
    assert answer.status == 201, answer.body
    assert (answer.body["filename"], answer.body["version"], answer.body["sha256"]) == ("w.h5", 1, "a" * 64)
    assert (await reg.call("GET", f"/models/{model['_id']}")).body["uri"] == "s3://bucket/run/w.h5"
    download = await reg.call("GET", f"/model-versions/{answer.body['_id']}/w.h5")
    assert download.status == 404 and "s3://bucket/run/w.h5" in download.body["message"]


@pytest.mark.parametrize("body, field", [
    ({"uri": "relative/path.bin"}, "uri"),
    ({"uri": "s3://b/k", "ref": "6740a1c2e4b0a1b2c3d4e5f6/w.bin"}, "ref"),
    ({}, "ref"),
    ({"ref": "6740a1c2e4b0a1b2c3d4e5f6/w.bin"}, "ref"),  # not uploaded
    ({"uri": "s3://b/k", "iteration": "three"}, "iteration"),
    ({"uri": "s3://b/k", "sha256": "not-a-digest"}, "sha256"),
])
async def test_bad_versions_are_refused_and_the_model_is_unchanged(reg: Registry, body: dict, field: str) -> None:
    model = await reg.model()
    answer = await reg.call("POST", "/model-versions", {"model": model["_id"], **body})
    assert answer.status == 400, answer.body
    assert field in answer.body["errors"]
    assert (await reg.call("GET", f"/models/{model['_id']}")).body["version"] == 0
    assert (await reg.call("GET", f"/model-versions?model={model['_id']}")).body["total"] == 0


async def test_a_version_of_an_unknown_model_is_refused(reg: Registry) -> None:
    answer = await reg.version("0123456789abcdef01234567")
    assert answer.status == 400 and "model" in answer.body["errors"]


@pytest.mark.parametrize("field", ["../evil.bin", ".hidden", "a\\b.bin"])
async def test_unsafe_file_names_are_refused_and_nothing_is_kept(reg: Registry, server: Running, field: str) -> None:
    answer = await reg.upload(object_id(), b"data", field)
    assert answer.status == 400, answer.body
    assert stored_files(server) == []


async def test_bad_uploads(reg: Registry, server: Running) -> None:
    assert (await reg.upload("not-an-id", b"x")).status == 400
    two = await reg.upload(object_id(), b"x", "a.bin", **{"b.bin": b"y"})
    assert two.status == 400 and "exactly one" in two.body["message"]
    empty = await reg.upload(object_id(), b"", "a.bin")
    assert empty.status == 400
    assert stored_files(server) == []


async def test_past_the_registry_limit_an_upload_is_refused_whole(tmp_path: Path) -> None:
    async with running(tmp_path, config="[registry]\nmax_size = 1000\n") as srv, Registry(srv.url) as reg:
        answer = await reg.upload(object_id(), os.urandom(5000))
        assert answer.status == 413
        assert stored_files(srv) == []
        assert (await reg.upload(object_id(), os.urandom(1000))).status == 200


async def test_concurrent_versions_get_distinct_numbers(reg: Registry) -> None:
    model = await reg.model()
    answers = await asyncio.gather(*(reg.version(model["_id"], os.urandom(100)) for _ in range(8)))
    assert all(a.status == 201 for a in answers), [a.body for a in answers]
    assert sorted(a.body["version"] for a in answers) == list(range(1, 9))
    assert (await reg.call("GET", f"/models/{model['_id']}")).body["version"] == 8


async def test_removing_a_model_removes_its_versions_and_files(reg: Registry, server: Running) -> None:
    model = await reg.model()
    for _ in range(2):
        assert (await reg.version(model["_id"], os.urandom(100))).status == 201
    other = await reg.model()
    kept = (await reg.version(other["_id"], b"kept")).body
    assert len(stored_files(server)) == 3
    assert (await reg.call("DELETE", f"/models/{model['_id']}")).status == 200
    assert (await reg.call("GET", f"/model-versions?model={model['_id']}")).body["total"] == 0
    assert [p.parent.name for p in stored_files(server)] == [kept["_id"]]


async def test_uploads_never_made_a_version_are_swept(reg: Registry, server: Running) -> None:
    from backend.storage.blobs import BlobStore
    from services.registry.weights import Uploads

    model = await reg.model()
    kept = (await reg.version(model["_id"], b"a version")).body
    assert (await reg.upload(object_id(), b"abandoned")).status == 200
    uploads, blobs = server.app.extensions.get(Uploads), server.app.extensions.get(BlobStore)
    assert await uploads.sweep(blobs, older_than=3600) == 0  # a fresh upload may still become a version
    assert await uploads.sweep(blobs, older_than=-1) == 1
    assert [p.parent.name for p in stored_files(server)] == [kept["_id"]]
