"""Assets (README: "Models, assets and server-side conversion"): ``POST /assets/upload``,
``GET /assets/<folderid>/<filename>``, and the ``/assets`` documents.

The field name of each part is the stored file's name and its extension must be whitelisted
(``[assets] extensions``, default jpg, jpeg, png, wav). The reply maps each part's original file
name to ``"<folderid>/<fieldname>"``; the client then creates the ``/assets`` document
``{filename, extension, mime, url, ...}``. Removing the document (or changing its ``url``) deletes
the file it points to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from backend.app import App
from backend.auth import auth_settings
from backend.config import ConfigError, Settings
from backend.errors import BadRequest, NotFound
from backend.hooks import Params
from backend.plugins import Plugin, use_stored, with_files
from backend.storage.blobs import BlobStore
from backend.uploads import Download
from services.files.cleanup import cleanup_hooks
from services.files.config import section, upload_limits
from services.files.names import FOLDER_ID, blob_key, unsafe_reason
from services.files.ownership import upload_owners
from services.files.transfer import IMMUTABLE, REVALIDATE, blob_download, receive

from .access import NAMESPACE, REF_FIELDS, access_hooks, asset_refs, backfill_refs, check_download

DEFAULT_EXTENSIONS = ("jpg", "jpeg", "png", "wav")


def allowed_extensions(settings: Settings) -> frozenset[str]:
    """``[assets] extensions``: lowercase extensions without the dot (ConfigError when malformed)."""
    table = section(settings, "assets", {"extensions"})
    value = table.get("extensions", list(DEFAULT_EXTENSIONS))
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip(". ") for v in value):
        raise ConfigError(f"[assets] extensions must be a non-empty list of extensions, got {value!r}")
    exts = frozenset(v.strip().lstrip(".").lower() for v in value)
    if any(unsafe_reason(f"x.{e}") for e in exts):
        raise ConfigError(f"[assets] extensions: invalid extension in {value!r}")
    return exts


def accept_extension(extensions: frozenset[str]) -> Callable[[str], bool]:
    """Accept field names whose extension is in ``extensions``."""
    return lambda field: "." in field and field.rsplit(".", 1)[1].lower() in extensions


def asset_keys(doc: Mapping[str, Any]) -> set[str]:
    """The blob key an asset document points to through ``url`` or ``path``."""
    return {blob_key(NAMESPACE, folder, name) for folder, name in asset_refs(doc)}


async def setup(app: App) -> None:
    """Register ``/assets`` with its upload and download methods."""
    blobs = app.extensions.get(BlobStore)  # type: ignore[type-abstract]
    limits = upload_limits(app.settings)
    extensions = allowed_extensions(app.settings)
    accept = accept_extension(extensions)

    owners = await upload_owners(app)
    guarded = owners is not None and not auth_settings(app.settings).public_assets

    async def upload(parts: Any, params: Params) -> dict[str, str]:
        stored = await receive(parts, blobs, NAMESPACE, accept, limits)
        if not stored:
            raise BadRequest(f"No file accepted: the field name's extension must be one of {sorted(extensions)}")
        if owners is not None:
            await owners.record(NAMESPACE, stored[0].folder, params)
        return {f.originalname: f.ref for f in stored}

    async def download(id: Any, filename: Any, params: Params) -> Download:
        if not isinstance(id, str) or not FOLDER_ID.fullmatch(id) or unsafe_reason(str(filename)) is not None:
            raise NotFound(f"File '{id}/{filename}' not found")
        if guarded and params.provider is not None:
            await check_download(handle, id, filename, params)
        # A guarded file's answer depends on who asks: no shared cache may keep it.
        cache = REVALIDATE if guarded else IMMUTABLE
        return await blob_download(blobs, blob_key(NAMESPACE, id, filename), filename, cache)

    handle = await use_stored(app, NAMESPACE, schema=NAMESPACE)
    with_files(handle, upload, download)
    if owners is not None and not guarded:
        handle.options["public_methods"] = ("download",)  # public_assets: anybody may download
    handle.hooks(cleanup_hooks(blobs, asset_keys, fields=REF_FIELDS))
    if owners is not None:
        handle.hooks(access_hooks(owners))

        async def backfill() -> None:
            await backfill_refs(handle)

        app.on_setup(backfill)


plugin = Plugin("assets", setup, sections=("uploads", "assets"))
