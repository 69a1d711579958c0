"""Both blob stores, one contract: streaming in and out, ranges, limits, keys that cannot escape.

Backends: local disk; GridFS over mongomock-motor (mongomock's GridFS integration); GridFS on a
real server when ``PLUME_TEST_MONGODB_URL`` is set (a fresh database, dropped after).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backend.config import ConfigError, Settings
from backend.storage.blobs import BlobStore, BlobTooLarge
from backend.storage.blobs.factory import open_blob_store
from backend.storage.blobs.gridfs import GridFSBlobStore
from backend.storage.blobs.local import LocalBlobStore
from backend.storage.mongodb import MongoStorage

BACKENDS = ["local", "gridfs-mock"] + (["gridfs-real"] if os.environ.get("PLUME_TEST_MONGODB_URL") else [])


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "files")
        return
    if request.param == "gridfs-mock":
        url = f"mongomock://localhost/blobs_{uuid.uuid4().hex[:8]}"
    else:
        base = os.environ["PLUME_TEST_MONGODB_URL"].split("?")[0].rsplit("/", 1)[0]
        url = f"{base}/plume_blobs_{uuid.uuid4().hex[:12]}"
    storage = MongoStorage(url)
    blobs = GridFSBlobStore(storage)
    try:
        yield blobs
    finally:
        await blobs.close()
        await storage.client.drop_database(storage.db.name)
        await storage.close()


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for c in chunks:
        yield c


async def read(store: BlobStore, key: str, offset: int = 0, length: int | None = None) -> bytes:
    return b"".join([c async for c in store.open(key, offset, length)])


async def keys(store: BlobStore, prefix: str = "") -> list[str]:
    return [k async for k in store.keys(prefix)]


async def test_put_stat_open_ranges_delete(store: BlobStore) -> None:
    info = await store.put("a/f1/model.json", stream(b"hello ", b"world"))
    assert info.size == 11 and info.etag == hashlib.sha256(b"hello world").hexdigest()
    stat = await store.stat("a/f1/model.json")
    assert stat is not None and (stat.size, stat.etag) == (11, info.etag)
    assert await read(store, "a/f1/model.json") == b"hello world"
    assert await read(store, "a/f1/model.json", 6) == b"world"
    assert await read(store, "a/f1/model.json", 2, 3) == b"llo"
    assert await read(store, "a/f1/model.json", 11) == b""
    await store.put("a/f2/x.bin", stream(b"x"))
    await store.put("ab/f3/y.bin", stream(b"y"))  # a sibling folder whose name starts alike
    assert await keys(store, "a") == ["a/f1/model.json", "a/f2/x.bin"]
    await store.delete_prefix("a/f1")
    assert await keys(store) == ["a/f2/x.bin", "ab/f3/y.bin"]
    await store.delete("a/f2/x.bin")
    await store.delete("a/f2/x.bin")  # deleting what is gone is fine
    assert await store.stat("a/f2/x.bin") is None
    with pytest.raises(FileNotFoundError):
        await read(store, "a/f2/x.bin")


async def test_big_file_streams_across_chunks_and_ranges_cross_chunk_edges(store: BlobStore) -> None:
    block = bytes(range(256)) * 1024  # 256 KiB, over one GridFS chunk (255 KiB) and one read chunk
    data = block * 3 + b"tail"
    info = await store.put("big/f/w.bin", stream(block, block, block, b"tail"))
    assert info.size == len(data) and info.etag == hashlib.sha256(data).hexdigest()
    assert await read(store, "big/f/w.bin") == data
    for offset, length in [(255 * 1024 - 3, 10), (1, 600 * 1024), (len(data) - 5, None), (0, 1)]:
        end = None if length is None else offset + length
        assert await read(store, "big/f/w.bin", offset, length) == data[offset:end]


async def test_a_new_put_replaces_the_whole_file(store: BlobStore) -> None:
    await store.put("r/f/x", stream(b"first version"))
    info = await store.put("r/f/x", stream(b"second"))
    assert await read(store, "r/f/x") == b"second"
    assert (await store.stat("r/f/x")).etag == info.etag == hashlib.sha256(b"second").hexdigest()  # type: ignore[union-attr]
    assert await keys(store, "r") == ["r/f/x"]


async def test_size_limit_keeps_nothing(store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(BlobTooLarge):
        await store.put("k/big", stream(b"x" * 10, b"y" * 10), max_size=15)
    assert await store.stat("k/big") is None and await keys(store) == []
    if isinstance(store, LocalBlobStore):
        assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []
    if isinstance(store, GridFSBlobStore):
        assert await store.db["plume_files.chunks"].count_documents({}) == 0


async def test_a_failing_stream_keeps_nothing(store: BlobStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("k/f/broken", broken())
    assert await store.stat("k/f/broken") is None and await keys(store) == []


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../x", "a\\b", "a//b", "", "a/./b", "a\x00b",
                                 "a/.plume-upload-x"])
async def test_keys_cannot_escape_the_root(store: BlobStore, tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put(key, stream(b"x"))
    with pytest.raises(ValueError):
        await store.stat(key)
    with pytest.raises(ValueError):
        await store.delete(key)
    assert await keys(store) == []
    assert not (tmp_path / "x").exists()


async def test_local_etag_is_the_sha256_even_for_files_written_elsewhere(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    await store.put("s/f/x", stream(b"abc"))
    (tmp_path / "s" / "f" / "x").write_bytes(b"changed!")  # e.g. restored from a backup
    info = await store.stat("s/f/x")
    assert info is not None and info.size == 8 and info.etag == hashlib.sha256(b"changed!").hexdigest()
    other = LocalBlobStore(tmp_path)  # another replica on the same volume
    assert (await other.stat("s/f/x")).etag == info.etag  # type: ignore[union-attr]


async def test_factory_defaults_and_choices(tmp_path: Path) -> None:
    def settings(database: str, **storage: Any) -> Settings:
        return Settings(data_dir=tmp_path, database=database, sections={"storage": storage} if storage else {})

    mongo = MongoStorage("mongomock://localhost/factory")
    assert isinstance(open_blob_store(settings(f"sqlite:///{tmp_path}/x.db"), None), LocalBlobStore)
    assert isinstance(open_blob_store(settings("mongomock://localhost/factory"), mongo), GridFSBlobStore)
    local = open_blob_store(settings("mongomock://localhost/factory", blobs="local"), mongo)
    assert isinstance(local, LocalBlobStore) and local.root == (tmp_path / "files").resolve()
    with pytest.raises(ConfigError):
        open_blob_store(settings(f"sqlite:///{tmp_path}/x.db", blobs="gridfs"), None)
    with pytest.raises(ConfigError):
        open_blob_store(settings(f"sqlite:///{tmp_path}/x.db", blobs="s3"), None)
