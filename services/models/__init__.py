"""Models (README: "Models, assets and server-side conversion"): ``tfjs-models``, ``onnx-models`` and
``keras-models`` with server-side conversion.

Each service is a stored service (schema ``schemas/<name>.json``) plus ``POST /<name>/upload`` (each
model file checked on arrival: :mod:`.checks`) and ``GET /<name>/<docId>/<filename>``. Removing a
model, or replacing its ``files``, deletes the stored files. A ``keras-models`` document is
converted to TF.js and ONNX by the worker pool (:mod:`services.models.conversion`); its
``conversions`` field records the progress.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from backend.app import App
from backend.instances import instance_name, sweep
from backend.plugins import Plugin, use_stored, with_files
from backend.storage.blobs import BlobStore
from services.files.cleanup import cleanup_hooks
from services.files.config import upload_limits
from services.files.ownership import upload_owners

from .conversion import ConversionManager, PoolSettings
from .files import ACCEPT, check_files_hook, keys_of, make_download, make_upload
from .keras import keras_hooks

__all__ = ["ConversionManager", "plugin", "setup"]


async def setup(app: App) -> None:
    """Register the three model services and the conversion manager (an app extension)."""
    blobs = app.extensions.get(BlobStore)  # type: ignore[type-abstract]
    limits = upload_limits(app.settings)
    pool_settings = PoolSettings.from_settings(app.settings)
    owners = await upload_owners(app)
    tmp = Path(app.settings.data_dir) / "tmp"
    # Copies of large uploads being checked: one folder per process (see backend.instances), swept at start.
    scratch = tmp / "uploads" / instance_name()

    async def sweep_scratch() -> None:
        await asyncio.to_thread(sweep, scratch.parent)

    app.on_setup(sweep_scratch)
    for name in ACCEPT:
        handle = await use_stored(app, name, schema=name)
        with_files(handle, make_upload(blobs, name, limits, scratch, owners), make_download(blobs, name, handle))
        check = check_files_hook(blobs, name, owners)
        handle.hooks({"before": {"create": [check], "update": [check], "patch": [check]}})
        handle.hooks(cleanup_hooks(blobs, keys_of(name), fields=("files",)))
    manager = ConversionManager(app, blobs, pool_settings, tmp / "conversion")
    app.extensions.add(ConversionManager, manager)
    app.service("keras-models").hooks(keras_hooks(manager))
    app.on_setup(manager.resume)
    app.on_teardown(manager.close)


plugin = Plugin("models", setup, sections=("uploads", "conversion"))
