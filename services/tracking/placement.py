"""Runs and artifacts in folders: each ``(folder, name)`` holds one record per service.

A record's ``folder`` (relative paths are under ``/<user>/``) must exist and be one the caller may
write under (:mod:`.paths`); its name is claimed in an internal table whose key is made from the
service, folder and name, so that two creates of one name conflict (409) on every adapter and
across processes. A record keeps its folder and name (``update``/``patch`` may not change them);
removing it frees the name. Records without a ``folder`` (Marcelle's runs) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from backend.app import App
from backend.errors import BadRequest, Conflict
from backend.hooks import HookContext
from backend.storage.base import StorageAdapter, new_id

from .folders import normalize_query, require_folder
from .paths import absolute, check_writable, record_id

PLACES = "_tracking_places"
_CLAIMED = "tracking_claimed_places"
NAME = re.compile(r"[^/\\\x00-\x1f]{1,200}")


def check_name(value: Any) -> str:
    """A run's or artifact's name: 1 to 200 characters without ``/``, ``\\`` or control characters."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or value in (".", ".."):
        raise BadRequest("name must be 1 to 200 characters without '/', '\\\\' or control characters",
                         errors={"name": "invalid name"})
    return value


class Places:
    """Which record holds each ``(service, folder, name)``."""

    def __init__(self, adapter: StorageAdapter) -> None:
        self.adapter = adapter

    async def claim(self, service: StorageAdapter, path: str, folder: str, name: str, holder: str) -> None:
        """Reserve ``folder/name`` in ``path`` for record ``holder``; 409 when another record has it.

        A claim whose record is gone, or elsewhere now, is stale (a crash between the claim and
        the write): it is taken over.
        """
        key = record_id(path, folder, name)
        record = {"_id": key, "service": path, "folder": folder, "name": name, "holder": holder}
        try:
            await self.adapter._insert([record])
            return
        except Conflict:
            held = await self.adapter._get_key(key)
        if held is not None and held.get("holder") != holder:
            other = await service._get_key(str(held.get("holder")))
            if other is not None and other.get("folder") == folder and other.get("name") == name:
                raise Conflict(f"{folder}/{name} exists already in {path}", errors={"name": "taken in this folder"})
        await self.adapter._replace(key, record)

    async def release(self, path: str, folder: str, name: str, holder: str) -> None:
        """Free ``folder/name`` in ``path`` if ``holder`` has it."""
        key = record_id(path, folder, name)
        held = await self.adapter._get_key(key)
        if held is not None and held.get("holder") == holder:
            await self.adapter._delete([key])


def _items(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, Mapping) and isinstance(value.get("data"), list):
        value = value["data"]
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]


def placement_hooks(app: App, places: Places) -> dict[str, Any]:
    """The hooks placing a service's records in folders (see the module docstring)."""

    async def queries(ctx: HookContext) -> None:
        """Relative folders in the query made absolute (after the caller is known)."""
        if ctx.params.provider is not None:
            normalize_query(ctx.params.query, ("folder",), ctx.params)

    async def place(ctx: HookContext) -> None:
        store = ctx.service.store
        claimed = ctx.params.extra.setdefault(_CLAIMED, [])
        for item in _items(ctx.data):
            if "folder" not in item:
                continue
            folder = absolute(item["folder"], ctx.params, "folder")
            check_writable(folder, ctx.params, app.auth_enabled)
            await require_folder(app, folder, ctx.params)
            name = check_name(item.get("name"))
            item["folder"] = folder
            holder = str(item.setdefault(store.id_field, new_id()))
            await places.claim(store, ctx.path, folder, name, holder)
            claimed.append((folder, name, holder))

    async def unclaim(ctx: HookContext) -> None:
        """A create that failed frees the names it claimed (unless its record exists: a repeat)."""
        store = ctx.service.store
        for folder, name, holder in ctx.params.extra.pop(_CLAIMED, []):
            if await store._get_key(holder) is None:
                await places.release(ctx.path, folder, name, holder)

    async def keep_place(ctx: HookContext) -> None:
        data = ctx.data
        if not isinstance(data, dict):
            return
        store = ctx.service.store
        if ctx.id is None:
            if {"folder", "name"} & set(data):
                raise BadRequest("A multi patch cannot change names or folders")
            return
        current = await store._get_key(store.key(ctx.id))
        if current is None:
            return  # the method answers 404
        if "folder" not in current:
            if "folder" in data:
                raise BadRequest("A record is put in a folder when it is created", errors={"folder": "read-only"})
            return
        for field in ("folder", "name"):
            if ctx.method == "update":
                data.setdefault(field, current.get(field))
            if field in data and data[field] != current.get(field):
                raise BadRequest(f"A {ctx.path[:-1]}'s {field} is set when it is created",
                                 errors={field: "read-only"})

    async def freed(ctx: HookContext) -> None:
        id_field = ctx.service.store.id_field
        for record in _items(ctx.result):
            if isinstance(record.get("folder"), str) and isinstance(record.get("name"), str):
                await places.release(ctx.path, record["folder"], record["name"], str(record.get(id_field)))

    return {
        "before": {"find": [queries], "get": [queries], "remove": [queries], "create": [place],
                   "update": [queries, keep_place], "patch": [queries, keep_place]},
        "after": {"create": [_forget], "remove": [freed]},
        "error": {"create": [unclaim]},
    }


async def _forget(ctx: HookContext) -> None:
    ctx.params.extra.pop(_CLAIMED, None)
