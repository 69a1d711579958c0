"""The page queries behind ``Service.items(query)`` (shared by the sync and async services).

Records come in the service's order, page after page (Marcelle's ``items()`` yielded each page
backwards). Pages may change while we walk them:

* without ``$sort``, pages follow the id (``$sort: {_id: 1}``) and each page asks for ids after
  the last one seen (keyset paging): every record present from start to end is seen exactly once,
  whatever is created or removed meanwhile;
* with ``$sort``, pages follow offsets (``$skip``); a record seen twice (others were created before
  it) is yielded once, and a record may be missed if others before it are removed meanwhile.

In the query, ``$limit`` is the page size and ``$skip`` where to start.
"""

from __future__ import annotations

from typing import Any

DEFAULT_PAGE = 100


class PageCursor:
    """Plans the next page query and picks the records to yield from each page."""

    def __init__(self, query: dict[str, Any] | None, id_field: str, page_size: int = DEFAULT_PAGE) -> None:
        q = dict(query or {})
        if set(q) == {"query"} and isinstance(q["query"], dict):
            raise ValueError(f"items() takes the query itself, not params: items({q['query']!r})")
        self.id_field = id_field
        self.sort = q.pop("$sort", None)
        limit = q.pop("$limit", None)
        self.size = int(limit) if isinstance(limit, (int, str)) and int(limit) > 0 else page_size
        self.skip = int(q.pop("$skip", 0) or 0)
        self.conditions = q
        self.last_id: Any = None
        self.offset = self.skip
        self.seen: set[Any] = set()
        self.done = False

    @property
    def keyset(self) -> bool:
        return not self.sort

    def next_query(self) -> dict[str, Any]:
        """The query of the next page."""
        q = dict(self.conditions)
        q["$limit"] = self.size
        if self.keyset:
            q["$sort"] = {self.id_field: 1}
            if self.last_id is None:
                if self.skip:
                    q["$skip"] = self.skip
            else:
                q["$and"] = [*q.get("$and", []), {self.id_field: {"$gt": self.last_id}}]
        else:
            q["$sort"] = self.sort
            q["$skip"] = self.offset
        return q

    def accept(self, page: Any) -> list[dict[str, Any]]:
        """The records of ``page`` to yield, in order; sets ``done`` after the last page."""
        if isinstance(page, list):  # an unpaginated service answers everything at once
            self.done = True
            return page
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise TypeError(f"find() answered neither a page nor a list: {type(page).__name__}")
        data: list[dict[str, Any]] = page["data"]
        raw_limit = page.get("limit")
        limit = raw_limit if isinstance(raw_limit, int) and raw_limit > 0 else self.size
        if len(data) < limit:
            self.done = True
        if not data:
            return []
        if self.keyset:
            self.last_id = data[-1][self.id_field]
            return data
        self.offset += len(data)
        total = page.get("total")
        if isinstance(total, int) and total >= 0 and self.offset >= total:
            self.done = True
        fresh = []
        for record in data:
            key = record.get(self.id_field)
            if key not in self.seen:
                self.seen.add(key)
                fresh.append(record)
        return fresh
