"""The local-disk blob store: streaming in and out, ranges, limits, and keys that cannot escape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.storage.blobs import BlobTooLarge
from backend.storage.blobs.local import LocalBlobStore


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for c in chunks:
        yield c


async def read(store: LocalBlobStore, key: str, offset: int = 0, length: int | None = None) -> bytes:
    return b"".join([c async for c in store.open(key, offset, length)])


async def test_put_stat_open_ranges_delete(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    info = await store.put("a/f1/model.json", stream(b"hello ", b"world"))
    assert info.size == 11 and len(info.etag) == 32
    assert (await store.stat("a/f1/model.json")).size == 11  # type: ignore[union-attr]
    assert await read(store, "a/f1/model.json") == b"hello world"
    assert await read(store, "a/f1/model.json", 6) == b"world"
    assert await read(store, "a/f1/model.json", 2, 3) == b"llo"
    await store.put("a/f2/x.bin", stream(b"x"))
    assert [k async for k in store.keys("a")] == ["a/f1/model.json", "a/f2/x.bin"]
    await store.delete_prefix("a/f1")
    assert [k async for k in store.keys()] == ["a/f2/x.bin"]
    await store.delete("a/f2/x.bin")
    assert await store.stat("a/f2/x.bin") is None


async def test_size_limit_keeps_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobTooLarge):
        await store.put("k/big", stream(b"x" * 10, b"y" * 10), max_size=15)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../x", "a\\b", "a//b", "", "a/./b", "a\x00b"])
async def test_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path / "root")
    with pytest.raises(ValueError):
        await store.put(key, stream(b"x"))
    assert not (tmp_path / "x").exists()
