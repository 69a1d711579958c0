"""``folders``: ``{path, name, parent}`` records, one per folder (``/<user>/cv/mnist``).

A folder's id is made from its path, so two clients making one folder make one record (the second
gets a 409). Creating a folder makes its missing parents; paths never change; a folder is removed
only when empty. Relative paths, in data and in queries on ``path``/``parent``, are under
``/<user>/`` (:mod:`.paths`); ``/<user>/default`` is made when first needed.
"""

from __future__ import annotations

from typing import Any

from backend.app import App
from backend.errors import BadRequest, Conflict, NotFound
from backend.hooks import HookContext, Params
from backend.query import Cmp

from .paths import absolute, check_writable, default_folder, owner_of, parent_of, record_id

SERVICE = "folders"
PLACED_IN = ("runs", "artifacts")  # services whose records live in folders


def folder_id(path: str) -> str:
    return record_id("folder", path)


def normalize_query(query: dict[str, Any], fields: tuple[str, ...], params: Params) -> None:
    """Make relative folder paths absolute in equality (and ``$in``) conditions on ``fields``, at
    the top level and within ``$and``/``$or`` (where the permission hooks put the caller's query)."""
    for field in fields:
        value = query.get(field)
        if isinstance(value, str):
            query[field] = absolute(value, params, field)
        elif isinstance(value, dict) and isinstance(value.get("$in"), list):
            value["$in"] = [absolute(v, params, field) if isinstance(v, str) else v for v in value["$in"]]
    for key in ("$and", "$or"):
        for part in query.get(key) or []:
            if isinstance(part, dict):
                normalize_query(part, fields, params)


def _mentions(query: Any, value: str) -> bool:
    """Does ``value`` appear anywhere in ``query`` (a condition of it, at any depth)?"""
    if isinstance(query, dict):
        return any(_mentions(v, value) for v in query.values())
    if isinstance(query, list):
        return any(_mentions(v, value) for v in query)
    return query == value


def _owner(app: App, params: Params) -> dict[str, Any]:
    """The owner field of a record made for the caller (none without authentication or a user)."""
    field, user = app.owner_field, params.user
    return {field: user.get("_id")} if field and isinstance(user, dict) else {}


async def make_folder(app: App, path: str, params: Params) -> dict[str, Any]:
    """Create the folder ``path`` and its missing parents, as the server, owned by the caller; the
    record (made now, or by someone before)."""
    store = app.service(SERVICE).store
    chain = []
    current = path
    while current.count("/") >= 2:
        chain.append(current)
        current = parent_of(current)
    record: dict[str, Any] | None = None
    for folder in reversed(chain):
        record = await store._get_key(folder_id(folder))
        if record is None:
            try:
                record = await app.service(SERVICE).create(
                    {"_id": folder_id(folder), "path": folder, **_owner(app, params)})
            except Conflict:
                record = await store._get_key(folder_id(folder))
    assert record is not None
    return record


async def require_folder(app: App, path: str, params: Params) -> None:
    """404 unless folder ``path`` exists (the caller's ``/<user>/default`` is made when missing)."""
    if await app.service(SERVICE).store._get_key(folder_id(path)) is not None:
        return
    if path == default_folder(params):
        await make_folder(app, path, params)
        return
    raise NotFound(f"Folder '{path[:300]}' does not exist", errors={"folder": "no such folder"})


def folder_hooks(app: App) -> dict[str, Any]:
    """The hook spec of ``folders``."""

    async def queries(ctx: HookContext) -> None:
        """Relative paths in the query made absolute (after the caller is known)."""
        if ctx.params.provider is not None:
            normalize_query(ctx.params.query, ("path", "parent"), ctx.params)

    async def default_exists(ctx: HookContext) -> None:
        """A lookup of the caller's default folder finds it, made now if need be."""
        if ctx.params.provider is not None and _mentions(ctx.params.query, default_folder(ctx.params)):
            await make_folder(app, default_folder(ctx.params), Params(user=ctx.params.user))

    async def prepare(ctx: HookContext) -> None:
        item = ctx.data
        if not isinstance(item, dict):
            return
        path = absolute(item.get("path"), ctx.params)
        if path.count("/") < 2:
            raise BadRequest(f"'{path}' is a user's space, not a folder: folders are /<user>/<name>...",
                             errors={"path": "not a folder path"})
        check_writable(path, ctx.params, app.auth_enabled)
        item.update(_id=folder_id(path), path=path, name=path.rsplit("/", 1)[1], parent=parent_of(path),
                    user=owner_of(path))
        if ctx.params.provider is not None and parent_of(path).count("/") >= 2:
            await make_folder(app, parent_of(path), ctx.params)

    async def fixed(ctx: HookContext) -> None:
        data = ctx.data if isinstance(ctx.data, dict) else {}
        current = await ctx.service.store._get_key(ctx.service.store.key(ctx.id)) if ctx.id is not None else None
        if current is None:
            if ctx.id is None and {"path", "name", "parent", "user"} & set(data):
                raise BadRequest("A folder's path is set when it is made")
            return
        for field in ("path", "name", "parent", "user"):
            if ctx.method == "update":
                data.setdefault(field, current.get(field))
            if field in data and data[field] != current.get(field):
                raise BadRequest(f"A folder's {field} is set when it is made (make a new folder instead)",
                                 errors={field: "read-only"})

    async def empty_only(ctx: HookContext) -> None:
        if ctx.id is None:
            return
        current = await ctx.service.store._get_key(ctx.service.store.key(ctx.id))
        if current is None:
            return  # the method answers 404
        path = current["path"]
        checks = [(ctx.service.store, "parent", "folders")]
        checks += [(app.services[s].store, "folder", s) for s in PLACED_IN if s in app.services]
        for store, field, what in checks:
            if await store._count(Cmp((field,), "$eq", path)):
                raise Conflict(f"Folder '{path}' is not empty: it holds {what}")

    return {
        "before": {"find": [queries, default_exists], "get": [queries], "create": [prepare],
                   "update": [queries, fixed], "patch": [queries, fixed], "remove": [queries, empty_only]},
    }
