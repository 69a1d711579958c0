"""Hooks that delete a document's stored files when it is removed or its file fields are replaced.

Each file-owning service says which blob keys a document refers to (``keys_of``) and which fields
hold them (``fields``). After a successful ``remove`` the removed documents' files go; after an
``update``/``patch`` touching those fields, the files the old version had and the new one lacks go.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

from backend.errors import NotFound
from backend.hooks import HookContext, Params
from backend.storage.blobs import BlobStore

log = logging.getLogger(__name__)
KeysOf = Callable[[Mapping[str, Any]], set[str]]
_OLD = "files_cleanup_old_keys"  # where the before hook leaves the old keys for the after hook


def _records(result: Any) -> list[dict[str, Any]]:
    if isinstance(result, dict) and isinstance(result.get("data"), list) and "total" in result:
        result = result["data"]  # a paginated page
    items = result if isinstance(result, list) else [result]
    return [r for r in items if isinstance(r, dict)]


async def delete_keys(blobs: BlobStore, keys: Collection[str]) -> None:
    """Delete blobs; a failure is logged, never raised (the document change already happened)."""
    for key in keys:
        try:
            await blobs.delete(key)
        except Exception:
            log.exception("could not delete stored file %s", key)


def cleanup_hooks(blobs: BlobStore, keys_of: KeysOf, fields: Collection[str]) -> dict[str, Any]:
    """A hook spec deleting the files of removed documents and files dropped by update/patch."""

    async def remember_old(ctx: HookContext) -> None:
        if ctx.method == "patch" and not (isinstance(ctx.data, dict) and set(fields) & set(ctx.data)):
            return  # the patch leaves the file fields alone
        adapter = ctx.service.store
        try:
            if ctx.id is not None:
                old = [await adapter.get(ctx.id, Params())]
            else:
                query = {k: v for k, v in ctx.params.query.items() if k != "$select"}
                found = await adapter.find(Params(query=query, query_is_text=ctx.params.query_is_text,
                                                  extra={"paginate": False}))
                old = _records(found)
        except NotFound:
            return  # the method itself answers 404
        ctx.params.extra[_OLD] = {str(doc.get(adapter.id_field)): keys_of(doc) for doc in old}

    async def drop_replaced(ctx: HookContext) -> None:
        old: dict[str, set[str]] | None = ctx.params.extra.pop(_OLD, None)
        if not old:
            return
        id_field = ctx.service.store.id_field
        for doc in _records(ctx.result):
            stale = old.get(str(doc.get(id_field)), set()) - keys_of(doc)
            await delete_keys(blobs, stale)

    async def drop_removed(ctx: HookContext) -> None:
        for doc in _records(ctx.result):
            await delete_keys(blobs, keys_of(doc))

    return {
        "before": {"update": [remember_old], "patch": [remember_old]},
        "after": {"update": [drop_replaced], "patch": [drop_replaced], "remove": [drop_removed]},
    }
