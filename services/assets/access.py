"""Assets with authentication on: whose uploads a document may name, and who downloads a file.

An asset file is addressed by its upload folder (``/assets/<folderid>/<name>``), not by its
document, so the document is found through ``fileRef`` (``"<folderid>/<name>"``, derived from its
``url``/``path`` on every write): a download needs a readable document naming the file, unless
``[authentication] public_assets`` makes asset files public, as in Marcelle.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from backend.app import ServiceHandle
from backend.errors import NotFound
from backend.hooks import HookContext, Params
from services.files.names import unsafe_reason
from services.files.ownership import UploadOwners, current_refs

log = logging.getLogger(__name__)
NAMESPACE = "assets"
REF_FIELDS = ("url", "path")
FILE_REF = "fileRef"
# "<folderid>/<name>" at the end of a document's url/path (absolute URLs included).
_REF_AT_END = re.compile(r"(?:^|/)([0-9a-f]{24})/([^/?#]+)$")


def asset_refs(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(folderid, name)`` of the files an asset document points to through ``url`` or ``path``."""
    refs = []
    for field in REF_FIELDS:
        value = doc.get(field)
        match = _REF_AT_END.search(value) if isinstance(value, str) else None
        if match and unsafe_reason(match.group(2)) is None and match.groups() not in refs:
            refs.append((match.group(1), match.group(2)))
    return refs


def _folders(doc: Mapping[str, Any]) -> list[str]:
    return [folder for folder, _ in asset_refs(doc)]


def access_hooks(owners: UploadOwners) -> dict[str, Any]:
    """Before create/update/patch: record ``fileRef``; the named upload must be the caller's."""

    async def hook(ctx: HookContext) -> None:
        for item in ctx.data if isinstance(ctx.data, list) else [ctx.data]:
            if not isinstance(item, dict):
                continue
            item.pop(FILE_REF, None)  # derived by the server only
            refs = asset_refs(item)
            if refs:
                item[FILE_REF] = "/".join(refs[0])
                await owners.check(NAMESPACE, _folders(item), ctx.params, await current_refs(ctx, _folders))

    return {"before": {"create": [hook], "update": [hook], "patch": [hook]}}


async def check_download(handle: ServiceHandle, folder: str, filename: str, params: Params) -> None:
    """NotFound unless the caller may read an asset document naming ``<folder>/<filename>``."""
    page = await handle.find(replace(params, query={FILE_REF: f"{folder}/{filename}", "$limit": 1},
                                     query_is_text=False))
    if not (page["data"] if isinstance(page, dict) else page):
        raise NotFound(f"File '{folder}/{filename}' not found")


async def backfill_refs(handle: ServiceHandle) -> None:
    """Give ``fileRef`` to documents written while authentication was off (once, at start)."""
    adapter = handle.store
    page = await adapter.find(Params(query={FILE_REF: None}, extra={"paginate": False}))
    for doc in page:
        refs = asset_refs(doc)
        if refs:
            await adapter.patch(doc[adapter.id_field], {FILE_REF: "/".join(refs[0])}, Params())
    if page:
        log.info("assets: recorded fileRef on %d documents", len(page))
