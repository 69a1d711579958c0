"""The adapter base class: Feathers method semantics on top of a few storage primitives.

The base owns options (id field, paginate, multi), query sanitising, pagination, ``$select``
and the id-plus-query rules; an adapter implements only ``_find``, ``_count``, ``_distinct``,
``_insert``, ``_replace``, ``_patch`` and ``_delete`` over the condition tree of
:mod:`backend.query`.
"""

from __future__ import annotations

import abc
import itertools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from random import SystemRandom
from typing import Any

import orjson

from ..errors import BadRequest, MethodNotAllowed, NotFound, PayloadTooLarge
from ..hooks import Params
from ..query import ByteBudget, Cond, IdIn, Query, conjoin, parse, split_path

MULTI_METHODS = ("create", "patch", "remove")


def new_id() -> str:
    """A fresh 24-hex ObjectId-style id (time-ordered, unique across processes).

    The layout of BSON's ObjectId (4-byte seconds, 5 random bytes per process, 3-byte counter
    from a random start) without making an ObjectId: half the cost, on every create.
    """
    return f"{int(time.time()):08x}{_ID_PROCESS}{next(_ID_COUNTER) & 0xFFFFFF:06x}"


def _new_process_ids() -> None:
    """A fresh random part and counter for this process (and again in a forked child)."""
    global _ID_PROCESS, _ID_COUNTER
    _ID_PROCESS = os.urandom(5).hex()
    _ID_COUNTER = itertools.count(SystemRandom().randrange(1 << 24))  # next() is atomic: thread-safe


_ID_PROCESS = ""
_ID_COUNTER = itertools.count()
_new_process_ids()
os.register_at_fork(after_in_child=_new_process_ids)


@dataclass
class Paginate:
    default: int = 100
    max: int = 1000
    total: bool = True  # False skips counting (large collections) but keeps the response shape


@dataclass
class AdapterOptions:
    """Per-service storage options (settable per service in the configuration)."""

    id: str = "_id"
    paginate: Paginate | None = field(default_factory=Paginate)
    multi: bool | list[str] = False
    schema: Mapping[str, Any] | None = None  # drives REST query coercion
    indexes: list[Any] = field(default_factory=list)
    # Bytes of stored records one client's find may load (None: no bound): a page stops short of
    # its limit past it (and says so), an unpaginated find is a 413.
    max_response: int | None = None

    def allows_multi(self, method: str) -> bool:
        return self.multi is True or (isinstance(self.multi, list) and method in self.multi)


class StorageAdapter(abc.ABC):
    """A Feathers service backed by storage. Subclasses implement the underscore primitives."""

    def __init__(self, name: str, options: AdapterOptions | None = None) -> None:
        self.name = name
        self.options = options or AdapterOptions()

    # ----------------------------------------------------------- primitives (adapters implement)
    @abc.abstractmethod
    async def _find(self, query: Query) -> list[dict[str, Any]]:
        """Records matching ``query.where``, sorted by ``query.sort``, then ``skip``/``limit``
        (``limit=None`` is unlimited). Full records: the base applies ``$select``."""

    @abc.abstractmethod
    async def _count(self, where: Cond) -> int:
        """How many records match ``where``."""

    async def _find_page(self, query: Query, count: bool) -> tuple[list[dict[str, Any]], int]:
        """A page and (when ``count``) the total; adapters may do both in one round trip."""
        rows = await self._find(query) if query.limit != 0 else []
        return rows, (await self._count(query.where) if count else -1)

    @abc.abstractmethod
    async def _distinct(self, path: tuple[str, ...], where: Cond, budget: ByteBudget | None = None) -> list[Any]:
        """Distinct values of ``path`` over the records matching ``where`` (missing values excluded);
        ``budget`` admits each value's JSON size, and the values stop at the first refused one."""

    @abc.abstractmethod
    async def _insert(self, records: list[dict[str, Any]]) -> None:
        """Store new records (ids already set); Conflict if an id exists, and then store none."""

    @abc.abstractmethod
    async def _replace(self, key: str, record: dict[str, Any]) -> bool:
        """Replace the record whose id string is ``key``; False if it is gone."""

    @abc.abstractmethod
    async def _patch(self, keys: list[str], data: dict[str, Any]) -> None:
        """Set the top-level fields of ``data`` on each record of ``keys``."""

    @abc.abstractmethod
    async def _delete(self, keys: list[str]) -> None:
        """Delete the records of ``keys``."""

    async def _get_key(self, key: str) -> dict[str, Any] | None:
        """The record whose id string is ``key``, or None: the commonest read (get/update/remove by
        id without a query). Adapters may override this with a direct primary-key lookup."""
        found = await self._find(Query(where=IdIn((key,)), limit=1))
        return found[0] if found else None

    async def _patch_where(self, key: str, where: Cond, data: dict[str, Any]) -> dict[str, Any] | None:
        """Patch the record ``key`` only if it matches ``where``; the stored record after, or None.

        Adapters that can do the test and the write in one step (one SQLite write transaction, one
        MongoDB ``find_one_and_update``) override this, so that a conditional patch is atomic even
        across processes; this default reads, then writes.
        """
        found = await self._find(Query(where=conjoin(IdIn((key,)), where), limit=1))
        if not found:
            return None
        if data:
            await self._patch([key], data)
        return {**found[0], **data}

    async def setup(self, app: Any, path: str) -> None:  # noqa: B027 - optional
        """Open connections, create indexes."""

    async def teardown(self) -> None:  # noqa: B027 - optional
        """Close connections."""

    # ----------------------------------------------------------- helpers
    @property
    def id_field(self) -> str:
        return self.options.id

    def key(self, id: Any) -> str:
        """The string form of an id under which a record is addressed."""
        if isinstance(id, (dict, list, bool)) or id is None:
            raise BadRequest(f"Invalid id '{id}'")
        key = str(id)
        if not key or len(key) > 512:
            raise NotFound(f"No record found for id '{key[:100]}'")
        return key

    def _parse(self, params: Params, *, paginate: bool = False) -> Query:
        pag = self._paginate(params) if paginate else None
        return parse(
            params.query,
            text=params.query_is_text,
            schema=self.options.schema,
            default_limit=pag.default if pag else None,
            max_limit=pag.max if pag else None,
        )

    def _paginate(self, params: Params) -> Paginate | None:
        override = params.extra.get("paginate", None)
        if override is False:
            return None
        if isinstance(override, Paginate):
            return override
        return self.options.paginate

    def _select(self, records: list[dict[str, Any]], select: list[str] | None) -> list[dict[str, Any]]:
        if select is None:
            return records
        keep = [split_path(s) for s in select]
        out = []
        for rec in records:
            sel: dict[str, Any] = {self.id_field: rec.get(self.id_field)}
            for path in keep:
                src: Any = rec
                for part in path:
                    src = src.get(part, _MISSING) if isinstance(src, dict) else _MISSING
                if src is _MISSING:
                    continue
                dst = sel
                for part in path[:-1]:
                    dst = dst.setdefault(part, {})
                dst[path[-1]] = src
            out.append(sel)
        return out

    async def _one(self, id: Any, params: Params) -> tuple[str, dict[str, Any], Query]:
        key = self.key(id)
        if params.query:
            q = self._parse(params)
            found = await self._find(Query(where=conjoin(IdIn((key,)), q.where), limit=1))
            record = found[0] if found else None
        else:  # the common get/update/remove by id: nothing to parse or combine
            q = _EMPTY
            record = await self._get_key(key)
        if record is None:
            raise NotFound(f"No record found for id '{key}'")
        return key, record, q

    def _budget(self, params: Params, per_row: int = 0) -> ByteBudget | None:
        """The ``max_response`` budget of a client's read (None: unbounded, the server's own)."""
        bound = self.options.max_response
        if bound is None or params.provider is None:
            return None
        return ByteBudget(bound, per_row=per_row)

    async def _multi_targets(self, verb: str, q: Query, params: Params,
                             added: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The records a multi patch or remove matches, loaded before anything is written: past
        ``max_response`` bytes (the answer would carry them all, each with ``added``: a patch's
        data) a 413, and nothing changed."""
        budget = self._budget(params, _json_size(added) if added else 0)
        targets = await self._find(Query(where=q.where, budget=budget))
        if budget is not None and budget.truncated:
            raise PayloadTooLarge(f"The records this {verb} matches are larger than the server sends at once "
                                  f"({budget.limit} bytes): nothing was {verb.rstrip('e')}ed; narrow the query")
        return targets

    def _check_multi(self, method: str) -> None:
        if not self.options.allows_multi(method):
            verb = {"create": "create", "patch": "patch", "remove": "remove"}[method]
            raise MethodNotAllowed(f"Can not {verb} multiple entries")

    def _check_data(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise BadRequest("Data must be an object")
        for name in data:
            if not isinstance(name, str) or not name or name.startswith("$") or "\x00" in name:
                raise BadRequest(f"Invalid field name '{str(name)[:100]}'")
        return data

    # ----------------------------------------------------------- Feathers methods
    async def find(self, params: Params) -> Any:
        """``find``: a page ``{total, limit, skip, data}`` or a plain list when unpaginated."""
        pag = self._paginate(params)
        q = self._parse(params, paginate=True)
        q.budget = self._budget(params)  # the server's own reads are not cut
        bound = self.options.max_response
        if q.distinct is not None:
            values = await self._distinct(q.distinct, q.where, budget=q.budget)
            if q.budget is not None and q.budget.truncated:
                raise PayloadTooLarge(f"The distinct values are larger than the server sends at once ({bound} "
                                      "bytes): narrow the query")
            return values
        if pag is None:
            rows = await self._find(q)
            if q.budget is not None and q.budget.truncated:
                raise PayloadTooLarge(f"The result is larger than the server sends at once ({bound} bytes): "
                                      "ask for fewer records ($limit) or fields ($select)")
            return self._select(rows, q.select)
        rows, total = await self._find_page(q, count=pag.total or q.limit == 0)
        page = {"total": total, "limit": q.limit, "skip": q.skip, "data": self._select(rows, q.select)}
        if q.budget is not None and q.budget.truncated:
            # Cut short by max_response: "limit" says how many came, so that the next page starts
            # at skip + limit, and "truncated" says why fewer came than asked.
            page["limit"] = len(rows)
            page["truncated"] = True
        return page

    async def get(self, id: Any, params: Params) -> dict[str, Any]:
        if not params.query:  # the commonest call of all: what _one does, one frame fewer
            key = self.key(id)
            record = await self._get_key(key)
            if record is None:
                raise NotFound(f"No record found for id '{key}'")
            return record
        _, record, q = await self._one(id, params)
        return record if q.select is None else self._select([record], q.select)[0]

    async def create(self, data: Any, params: Params) -> Any:
        many = isinstance(data, list)
        if many:
            self._check_multi("create")
        items = [self._check_data(d) for d in (data if many else [data])]
        q = self._parse(params) if params.query else None  # a bad query is a 400 before anything is stored
        records = []
        for item in items:
            rec = dict(item)
            if rec.get(self.id_field) is None:
                rec[self.id_field] = new_id()
            else:
                self.key(rec[self.id_field])
            records.append(rec)
        if records:
            await self._insert(records)
        if q is None:  # nothing to select: the records as stored
            return records if many else records[0]
        out = self._select(records, q.select)
        return out if many else out[0]

    async def update(self, id: Any, data: Any, params: Params) -> dict[str, Any]:
        if id is None:
            raise BadRequest("You can not replace multiple instances. Did you mean 'patch'?")
        data = self._check_data(data)
        key, current, q = await self._one(id, params)
        record = {**data, self.id_field: current[self.id_field]}
        if not await self._replace(key, record):
            raise NotFound(f"No record found for id '{key}'")
        return self._select([record], q.select)[0]

    async def patch(self, id: Any, data: Any, params: Params) -> Any:
        data = {k: v for k, v in self._check_data(data).items() if k != self.id_field}
        if id is None:
            self._check_multi("patch")
            q = self._parse(params)
            targets = await self._multi_targets("patch", q, params, added=data)
        else:
            key = self.key(id)
            q = self._parse(params) if params.query else _EMPTY
            record = await self._patch_where(key, q.where, data)  # the id + query test and the write at once
            if record is None:
                raise NotFound(f"No record found for id '{key}'")
            return self._select([record], q.select)[0]
        keys = [self.key(r[self.id_field]) for r in targets]
        if keys and data:
            await self._patch(keys, data)
        records = [{**r, **data} for r in targets]
        return self._select(records, q.select)

    async def remove(self, id: Any, params: Params) -> Any:
        if id is None:
            self._check_multi("remove")
            q = self._parse(params)
            targets = await self._multi_targets("remove", q, params)
        else:
            _, current, q = await self._one(id, params)
            targets = [current]
        if targets:
            await self._delete([self.key(r[self.id_field]) for r in targets])
        out = self._select(targets, q.select)
        return out if id is None else out[0]


_EMPTY = Query()


def _json_size(value: Any) -> int:
    """About how many bytes ``value`` takes as JSON (what it adds to a stored record)."""
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError:  # not storable either: the write answers why
        return len(str(value))


class _Missing:
    pass


_MISSING: Any = _Missing()
