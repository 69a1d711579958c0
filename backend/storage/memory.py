"""In-memory adapter: tests, caches and ephemeral services. Records are copied in and out."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import orjson

from ..errors import Conflict
from ..query import ByteBudget, Cond, Query
from .base import StorageAdapter
from .matcher import MISSING, get_path, matches, sort_records


class MemoryAdapter(StorageAdapter):
    """Keeps records in a dict keyed by the id's string form, in insertion order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.store: dict[str, dict[str, Any]] = {}

    def _matching(self, where: Cond) -> list[dict[str, Any]]:
        return [r for r in self.store.values() if matches(r, where, self.id_field)]

    async def _find(self, query: Query) -> list[dict[str, Any]]:
        rows = sort_records(self._matching(query.where), query.sort)
        end = None if query.limit is None else query.skip + query.limit
        rows = rows[query.skip:end]
        if query.budget is not None:
            rows = list(itertools.takewhile(lambda r: query.budget.admit(len(orjson.dumps(r))), rows))  # type: ignore[union-attr]
        return copy.deepcopy(rows)

    async def _count(self, where: Cond) -> int:
        return len(self._matching(where))

    async def _distinct(self, path: tuple[str, ...], where: Cond, budget: ByteBudget | None = None) -> list[Any]:
        seen: list[Any] = []
        for rec in self._matching(where):
            value = get_path(rec, path)
            if value is not MISSING and value is not None and value not in seen:
                if budget is not None and not budget.admit(len(orjson.dumps(value))):
                    break
                seen.append(copy.deepcopy(value))
        return seen

    async def _insert(self, records: list[dict[str, Any]]) -> None:
        keys = [self.key(r[self.id_field]) for r in records]
        dup = next((k for k in keys if k in self.store), None)
        if dup is not None or len(set(keys)) != len(keys):
            raise Conflict(f"A record with id '{dup}' already exists")
        for key, rec in zip(keys, records, strict=True):
            self.store[key] = copy.deepcopy(rec)

    async def _replace(self, key: str, record: dict[str, Any]) -> bool:
        if key not in self.store:
            return False
        self.store[key] = copy.deepcopy(record)
        return True

    async def _patch(self, keys: list[str], data: dict[str, Any]) -> None:
        for key in keys:
            if key in self.store:
                self.store[key].update(copy.deepcopy(data))

    async def _delete(self, keys: list[str]) -> None:
        for key in keys:
            self.store.pop(key, None)
