"""With authentication on, a document may only name files its writer uploaded.

Upload folder ids are ObjectIds (time-ordered, so guessable): without this check, a user could
write a document naming another user's private upload and read it through that document, or
remove the document and so delete the files. Each upload records its uploader; a write naming a
folder the caller did not upload (and that the document did not already name) is a 403. Admins
and the server's own calls are exempt. With authentication off nothing is recorded or checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backend.app import App
from backend.auth.permissions import ADMIN
from backend.auth.stores import internal_adapter
from backend.errors import Forbidden, NotFound
from backend.hooks import Params
from backend.query import IdIn, Query
from backend.storage.base import StorageAdapter

TABLE = "_upload_owners"


class UploadOwners:
    """Who uploaded each ``<namespace>/<folder>``."""

    def __init__(self, adapter: StorageAdapter) -> None:
        self.adapter = adapter

    async def record(self, namespace: str, folder: str, params: Params) -> None:
        user = params.user
        if user is not None:
            await self.adapter._insert([{"_id": f"{namespace}/{folder}", "userId": user.get("_id")}])

    async def check(self, namespace: str, folders: Iterable[str], params: Params,
                    already: Iterable[str] = ()) -> None:
        """Forbidden unless the caller uploaded every folder of ``folders`` not in ``already``."""
        user = params.user
        if params.provider is None or (user is not None and user.get("role") == ADMIN):
            return
        for folder in set(folders) - set(already):
            found = await self.adapter._find(Query(where=IdIn((f"{namespace}/{folder}",)), limit=1))
            if user is None or not found or found[0].get("userId") != user.get("_id"):
                raise Forbidden(f"Upload folder '{folder}' is not one of your uploads to /{namespace}")


async def upload_owners(app: App) -> UploadOwners | None:
    """The app's upload registry (one per app), or None when authentication is off."""
    if not app.auth_enabled:
        return None
    owners: UploadOwners | None = getattr(app, "upload_owners", None)
    if owners is None:
        owners = UploadOwners(await internal_adapter(app, TABLE))
        app.upload_owners = owners  # type: ignore[attr-defined]
    return owners


async def current_refs(ctx: Any, refs_of: Any) -> set[str]:
    """Folders the document being updated/patched already names (empty for create or multi)."""
    if ctx.method == "create" or ctx.id is None:
        return set()
    try:
        doc = await ctx.service.service.get(ctx.id, Params())
    except NotFound:
        return set()  # the method itself answers 404
    return set(refs_of(doc))
