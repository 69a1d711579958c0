"""With authentication on, a document may only name files its writer uploaded.

Upload folder ids are ObjectIds (time-ordered, so guessable): without this check, a user could
write a document naming another user's private upload and read it through that document, or
remove the document and so delete the files. Each upload records its uploader; a write naming a
folder the caller did not upload (and that the document did not already name) is a 403. Admins
and the server's own calls are exempt. With authentication off nothing is recorded or checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from backend.app import App
from backend.auth.authorize import is_admin
from backend.auth.stores import internal_adapter
from backend.errors import Forbidden, NotFound
from backend.hooks import HookContext, Params
from backend.storage.base import StorageAdapter

TABLE = "_upload_owners"


class UploadOwners:
    """Who uploaded each ``<namespace>/<folder>``."""

    def __init__(self, adapter: StorageAdapter) -> None:
        self.adapter = adapter

    async def record(self, namespace: str, folder: str, params: Params) -> None:
        """Note the caller as the uploader of ``<namespace>/<folder>`` (nothing for anonymous uploads)."""
        user = params.user
        if user is not None:
            await self.adapter._insert([{"_id": f"{namespace}/{folder}", "userId": user.get("_id")}])

    async def check(self, namespace: str, folders: Iterable[str], params: Params,
                    already: Iterable[str] = ()) -> None:
        """Forbidden unless the caller uploaded every folder of ``folders`` not in ``already``."""
        if is_admin(params):
            return
        user = params.user
        for folder in set(folders) - set(already):
            found = await self.adapter._get_key(f"{namespace}/{folder}")
            if user is None or found is None or found.get("userId") != user.get("_id"):
                raise Forbidden(f"Upload folder '{folder}' is not one of your uploads to /{namespace}")


async def upload_owners(app: App) -> UploadOwners | None:
    """The app's upload registry (one per app), or None when authentication is off."""
    if not app.auth_enabled:
        return None
    owners = app.extensions.find(UploadOwners)
    if owners is None:
        owners = app.extensions.add(UploadOwners, UploadOwners(await internal_adapter(app, TABLE)))
    return owners


async def current_refs(ctx: HookContext, refs_of: Callable[[Any], Iterable[str]]) -> set[str]:
    """Folders the document being updated/patched already names (empty for create or multi)."""
    if ctx.method == "create" or ctx.id is None:
        return set()
    try:
        doc = await ctx.service.store.get(ctx.id, Params())
    except NotFound:
        return set()  # the method itself answers 404
    return set(refs_of(doc))
