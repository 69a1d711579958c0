"""Assemble an App from settings: storage, blob store, plugins, configured and dynamic services.

The plugin API (:func:`~backend.plugins.use_stored`, :class:`~backend.plugins.Plugin`...) lives
in :mod:`backend.plugins`; this module only puts an app together.
"""

from __future__ import annotations

from collections.abc import Iterable

from .app import App
from .channels import Connection
from .config import Settings
from .plugins import DYNAMIC_NAME, Plugin, discover, dynamic_services, set_up, use_stored
from .storage import Storage, open_storage
from .storage.blobs import BlobStore
from .storage.blobs.factory import open_blob_store

EVERYBODY = "everybody"  # the channel of every connection while no plugin chooses who hears events


async def create_app(settings: Settings, *, plugins: Iterable[Plugin] | None = None) -> App:
    """A ready (set up) App for ``settings`` with ``plugins`` (default: the built-in ones and those
    installed packages add, see :func:`backend.plugins.discover`)."""
    app = App(settings)
    storage = app.extensions.add(Storage, open_storage(settings.database_url))  # type: ignore[type-abstract]
    app.on_teardown(storage.close)
    blobs = app.extensions.add(BlobStore, open_blob_store(settings, storage))  # type: ignore[type-abstract]
    app.on_teardown(blobs.close)
    await storage.open()
    app.service_factory = dynamic_services(app, storage)
    await set_up(app, discover() if plugins is None else plugins)
    for name in settings.service_options:  # [services.<name>] tables of services no plugin made
        if name not in app.services and DYNAMIC_NAME.fullmatch(name):
            await use_stored(app, name)
    if app.publisher is None:  # authentication is off: every connection hears every event

        async def join_everybody(conn: Connection) -> None:
            await conn.join(EVERYBODY)

        app.on_connection(join_everybody)
        app.publish(lambda data, ctx: [EVERYBODY])
    await app.setup()
    return app
