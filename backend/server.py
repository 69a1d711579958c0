"""Assemble an App from settings: storage, stored and dynamic services, channels, plugins.

Domain packages plug in through the ``plume.plugins`` entry point group (``backend`` never imports
them): each entry is ``async def plugin(app: App) -> None`` and may ``use`` services and hooks.
"""

from __future__ import annotations

import logging
import re
from importlib.metadata import entry_points
from typing import Any

from .app import App, ServiceHandle
from .channels import Connection
from .config import Settings
from .errors import Forbidden, NotFound
from .hooklib.timestamps import TIMESTAMP_HOOKS
from .hooklib.validate import load_schema, validate
from .storage import Storage, open_storage
from .storage.names import fold

log = logging.getLogger(__name__)
DYNAMIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}")
EVERYBODY = "everybody"  # the channel of every connection while authentication is off


async def use_stored(app: App, name: str, *, schema: str | None = None, **defaults: Any) -> ServiceHandle:
    """Register a stored service ``name`` with its configured options, timestamps and schema.

    ``schema`` names ``schemas/<schema>.json`` unless ``[services.<name>] schema`` overrides it;
    ``defaults`` are option defaults (``multi=["remove"]``...) that the configuration may override.
    """
    settings: Settings = app.settings
    storage: Storage = app.storage  # type: ignore[attr-defined]
    raw = {**defaults, **settings.service_options.get(name, {})}
    schema_name = raw.pop("schema", schema)
    schema_doc = load_schema(settings.schema_dirs, schema_name) if schema_name else None
    from .config import service_options

    options = service_options(name, raw, schema_doc)
    options.max_response = settings.max_response
    handle = await app.use(name, storage.adapter(name, options))
    handle.hooks(TIMESTAMP_HOOKS)
    if schema_doc is not None:
        handle.hooks({"before": {"create": [validate(schema_doc)], "update": [validate(schema_doc)],
                                 "patch": [validate(schema_doc)]}})
    return handle


def _dynamic_factory(app: App, settings: Settings, storage: Storage) -> Any:
    async def factory(path: str) -> Any:
        if not DYNAMIC_NAME.fullmatch(path):
            raise NotFound(f"Service '{path}' not found")
        allowed = settings.services
        if allowed != "*" and path not in allowed:
            raise Forbidden("Service is unauthorized")
        # A service another process made (or this one, before a restart) counts too.
        other = next((name for name in await storage.stored_services() if fold(name) == fold(path) and name != path),
                     None)
        if other is not None:
            raise NotFound(f"Service '{path}' not found (did you mean '{other}'?)")
        await use_stored(app, path)
        return app.services[path].service

    return factory


async def create_app(settings: Settings, *, load_plugins: bool = True) -> App:
    """A ready (set up) App for ``settings``."""
    app = App(settings)
    storage = open_storage(settings.database_url)
    app.storage = storage  # type: ignore[attr-defined]
    app.on_teardown(storage.close)
    from .storage.blobs.factory import open_blob_store

    blobs = open_blob_store(settings, storage)
    app.blobs = blobs  # type: ignore[attr-defined]
    app.on_teardown(blobs.close)
    await storage.open()
    app.service_factory = _dynamic_factory(app, settings, storage)

    for name in settings.service_options:
        if DYNAMIC_NAME.fullmatch(name):
            await use_stored(app, name)
    from .auth import auth_settings, setup_auth

    auth = auth_settings(settings)
    if auth.enabled:
        await setup_auth(app, auth)
    else:
        async def join_everybody(conn: Connection) -> None:
            await conn.join(EVERYBODY)

        app.on_connection(join_everybody)
        app.publish(lambda data, ctx: [EVERYBODY])
    if load_plugins:
        for ep in sorted(entry_points(group="plume.plugins"), key=lambda e: e.name):
            log.debug("loading plugin %s", ep.name)
            await ep.load()(app)
    await app.setup()
    return app
