"""The history index of metrics: each series' points as compact columns, for fast history reads.

The ``metrics`` service holds one record per point (the source of truth: queries, permissions,
events). Reading a 100,000-point curve back through it means decoding 100,000 JSON records, far
from a dashboard's budget, so each series ``(run, type, key)`` is also kept as blocks of up to
:data:`BLOCK` points in an internal table: steps, epochs and values as packed little-endian
64-bit arrays, timestamps as a list. A block's id is the series id and its number, so a series is
read with one primary-key range scan.

The index is derived data: created points are appended after each ``create`` (a conditional
write, retried, so that processes appending at once lose nothing), removed points drop their
series' blocks, and a reader that finds a series' index out of step with the points (a process
that died between the two writes) rebuilds it from the points.
"""

from __future__ import annotations

import asyncio
import base64
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.errors import Conflict
from backend.query import And, Cmp, Query
from backend.storage.base import StorageAdapter, new_id

from .paths import record_id

BLOCK = 1024  # points per block: an append rewrites at most one block of this size
ATTEMPTS = 20
NO_EPOCH = -1
CACHED_POINTS = 2_000_000  # points of decoded series kept in memory (the most recently read)
TAILS = 10_000  # last blocks of series kept in memory (the most recently appended to)


def series_id(run: str, kind: str, key: str) -> str:
    """The 24-hex id of the series ``(run, type, key)``."""
    return record_id("series", run, kind, key)


def point_id(sid: str, step: int) -> str:
    """The id of the point at ``step`` of series ``sid``: the series id and the step in 16 hex digits,
    so that a series' points follow each other, in step order, on the primary key."""
    return f"{sid}{step:016x}"


def _pack(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode()


def _unpack(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


@dataclass
class History:
    """A series' points in step order (one per step): columns of equal length."""

    steps: np.ndarray
    epochs: np.ndarray
    values: np.ndarray
    timestamps: list[Any]

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def of_points(cls, points: Iterable[dict[str, Any]]) -> History:
        """From point records (any order; a later point wins over an earlier one of its step)."""
        rows = list(points)
        return _ordered(np.array([p["step"] for p in rows], dtype=np.int64),
                        np.array([NO_EPOCH if p.get("epoch") is None else p["epoch"] for p in rows], dtype=np.int64),
                        np.array([p["value"] for p in rows], dtype=np.float64),
                        [p.get("timestamp") for p in rows])

    def window(self, low: int | None, high: int | None) -> History:
        """The points with ``low <= step <= high`` (None: unbounded)."""
        start = 0 if low is None else int(np.searchsorted(self.steps, low, "left"))
        end = len(self) if high is None else int(np.searchsorted(self.steps, high, "right"))
        return History(self.steps[start:end], self.epochs[start:end], self.values[start:end],
                       self.timestamps[start:end])

    def points(self, indices: np.ndarray, run: str, kind: str, key: str) -> list[dict[str, Any]]:
        """The points at ``indices`` as records (with the ids the ``metrics`` service gives them)."""
        steps, epochs, values = self.steps[indices].tolist(), self.epochs[indices].tolist(), self.values[indices]
        sid = series_id(run, kind, key)
        out = []
        for i, step, epoch, value in zip(indices.tolist(), steps, epochs, values.tolist(), strict=True):
            out.append({"_id": point_id(sid, step), "run": run, "type": kind, "key": key,
                        "step": step, "epoch": None if epoch == NO_EPOCH else epoch,
                        "value": value,
                        "timestamp": self.timestamps[i]})
        return out


def _ordered(steps: np.ndarray, epochs: np.ndarray, values: np.ndarray, timestamps: list[Any]) -> History:
    """Columns sorted by step, one point per step (the last one given)."""
    if len(steps) > 1 and not bool(np.all(steps[1:] > steps[:-1])):
        # Reverse, keep each step's first occurrence (the last given), back in step order.
        rev = steps[::-1]
        _, first = np.unique(rev, return_index=True)
        order = (len(steps) - 1 - first)
        steps, epochs, values = steps[order], epochs[order], values[order]
        timestamps = [timestamps[i] for i in order.tolist()]
    return History(steps, epochs, values, list(timestamps))


class _SeriesLock:
    """A series' append lock and how many appends hold or wait for it (it goes when the last leaves)."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class SeriesIndex:
    """Blocks of every series in an internal table (see the module docstring)."""

    def __init__(self, adapter: StorageAdapter, cached_points: int = CACHED_POINTS) -> None:
        self.adapter = adapter
        self._locks: dict[str, _SeriesLock] = {}
        # Decoded series by id, with the write stamp of their last block when read: any append
        # rewrites the last block (a new stamp), any rebuild every block, in whichever process.
        self._cache: OrderedDict[str, tuple[str, History, int]] = OrderedDict()
        self._cached_points = 0
        self._cache_bound = cached_points
        # The last block of series this process appended to, as written: the next append writes
        # on condition that it is unchanged (its stamp), without reading it first.
        self._tails: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def _range(self, sid: str) -> Query:
        cond = And((Cmp(("_id",), "$gte", f"{sid}000000"), Cmp(("_id",), "$lte", f"{sid}999999")))
        return Query(where=cond, sort=[(("_id",), 1)])

    async def _blocks(self, sid: str) -> list[dict[str, Any]]:
        return await self.adapter._find(self._range(sid))

    async def append(self, points: list[dict[str, Any]]) -> None:
        """Add written points to their series' blocks."""
        by_series: dict[str, list[dict[str, Any]]] = {}
        for p in points:
            by_series.setdefault(str(p["_id"])[:24], []).append(p)  # a point's id starts with its series'

        # Side by side: the SQLite writer commits the series' blocks together.
        await asyncio.gather(*(self._locked_append(sid, rows) for sid, rows in by_series.items()))

    async def _locked_append(self, sid: str, rows: list[dict[str, Any]]) -> None:
        held = self._locks.get(sid)
        if held is None:
            held = self._locks[sid] = _SeriesLock()
        held.users += 1  # counted before any await: nobody drops the lock while this one waits
        try:
            async with held.lock:
                await self._append(sid, rows)
        finally:
            held.users -= 1
            if held.users == 0:
                del self._locks[sid]

    async def _last(self, sid: str) -> dict[str, Any] | None:
        """The series' last block (only it: appending reads nothing else)."""
        query = self._range(sid)
        query.sort, query.limit = [(("_id",), -1)], 1
        found = await self.adapter._find(query)
        return found[0] if found else None

    async def _append(self, sid: str, rows: list[dict[str, Any]]) -> None:
        for attempt in range(ATTEMPTS):
            last = self._tails.pop(sid, None) if attempt == 0 else None
            if last is None:
                last = await self._last(sid)
            try:
                tail = await self._write(sid, last, 0 if last is None else int(last["block"]) + 1, rows)
            except Conflict:
                continue  # another process wrote the series meanwhile: read its last block again
            self._tails[sid] = tail
            while len(self._tails) > TAILS:
                self._tails.popitem(last=False)
            return
        await self.forget([sid])  # could not keep up: the next reader rebuilds the series

    async def _write(self, sid: str, last: dict[str, Any] | None, count: int,
                     rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Append ``rows`` after block ``last`` (None: the series has none); the new last block.
        Conflict when ``last`` changed meanwhile or a new block's number is taken."""
        room = BLOCK - int(last["n"]) if last is not None else 0
        head, rest = rows[:room], rows[room:]
        tail = last
        if head and last is not None:
            tail = _block(sid, int(last["block"]), _columns(last), head)
            old = Cmp(("w",), "$eq", last.get("w"))
            changes = {k: v for k, v in tail.items() if k != "_id"}
            if await self.adapter._patch_where(last["_id"], old, changes) is None:
                raise Conflict("the block changed meanwhile")
        number = count
        new = []
        for start in range(0, len(rest), BLOCK):
            new.append(_block(sid, number, None, rest[start:start + BLOCK]))
            number += 1
        if new:
            await self.adapter._insert(new)
            tail = new[-1]
        assert tail is not None
        return tail

    async def forget(self, sids: Iterable[str]) -> None:
        """Drop the blocks of ``sids`` (rebuilt from the points by the next reader)."""
        for sid in sids:
            self._tails.pop(sid, None)
            blocks = await self._blocks(sid)
            if blocks:
                await self.adapter._delete([b["_id"] for b in blocks])

    async def history(self, sid: str) -> tuple[History, int]:
        """The series from its blocks, and how many points the blocks hold (duplicates included).

        Only the last block is read when the series is cached and that block has not changed."""
        last = await self._last(sid)
        if last is None:
            return History(np.array([], np.int64), np.array([], np.int64), np.array([], np.float64), []), 0
        stamp = f"{last['_id']}:{last.get('w')}"
        cached = self._cache.get(sid)
        if cached is not None and cached[0] == stamp:
            self._cache.move_to_end(sid)
            return cached[1], cached[2]
        blocks = await self._blocks(sid)
        steps = np.concatenate([_unpack(b["s"], "<i8") for b in blocks])
        epochs = np.concatenate([_unpack(b["e"], "<i8") for b in blocks])
        values = np.concatenate([_unpack(b["v"], "<f8") for b in blocks])
        stamps = [t for b in blocks for t in b["t"]]
        history, held = _ordered(steps, epochs, values, stamps), len(steps)
        if blocks[-1]["_id"] == last["_id"] and blocks[-1].get("w") == last.get("w"):
            self._remember(sid, stamp, history, held)
        return history, held

    def _remember(self, sid: str, stamp: str, history: History, held: int) -> None:
        old = self._cache.pop(sid, None)
        if old is not None:
            self._cached_points -= len(old[1])
        if len(history) > self._cache_bound:
            return
        self._cache[sid] = (stamp, history, held)
        self._cached_points += len(history)
        while self._cached_points > self._cache_bound:
            _, (_, gone, _) = self._cache.popitem(last=False)
            self._cached_points -= len(gone)

    async def rebuild(self, sid: str, points: list[dict[str, Any]]) -> History:
        """Replace the blocks of ``sid`` by ``points`` (all the series' points)."""
        await self.forget([sid])
        history = History.of_points(points)
        rows = [{"step": s, "epoch": None if e == NO_EPOCH else e, "value": v, "timestamp": t}
                for s, e, v, t in zip(history.steps.tolist(), history.epochs.tolist(), history.values.tolist(),
                                      history.timestamps, strict=True)]
        if rows:
            try:
                await self._write(sid, None, 0, rows)
            except Conflict:
                pass  # another reader rebuilt it meanwhile: theirs holds the same points
        return history


def _columns(block: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any]]:
    return (_unpack(block["s"], "<i8"), _unpack(block["e"], "<i8"), _unpack(block["v"], "<f8"), list(block["t"]))


def _block(sid: str, number: int, before: tuple[np.ndarray, np.ndarray, np.ndarray, list[Any]] | None,
           rows: list[dict[str, Any]]) -> dict[str, Any]:
    steps = np.array([r["step"] for r in rows], dtype=np.int64)
    epochs = np.array([NO_EPOCH if r.get("epoch") is None else r["epoch"] for r in rows], dtype=np.int64)
    values = np.array([r["value"] for r in rows], dtype=np.float64)
    stamps = [r.get("timestamp") for r in rows]
    if before is not None:
        steps, epochs = np.concatenate([before[0], steps]), np.concatenate([before[1], epochs])
        values, stamps = np.concatenate([before[2], values]), before[3] + stamps
    return {"_id": f"{sid}{number:06d}", "series": sid, "block": number, "n": len(steps), "w": new_id(),
            "s": _pack(steps, "<i8"), "e": _pack(epochs, "<i8"), "v": _pack(values, "<f8"), "t": stamps}
