"""The plugin API: what a package needs to add services to Plume, and how plugins are found.

A plugin is a module with a module-level ``plugin = Plugin(name, setup, sections=...)``::

    from backend.plugins import Plugin, use_stored

    async def setup(app: App) -> None:
        table = app.settings.section("notes")          # its own [notes] table, validated here
        await use_stored(app, "notes", schema="notes")

    plugin = Plugin("notes", setup, sections=("notes",))

* ``setup(app)`` registers services and hooks (:func:`use_stored` for a stored service,
  :func:`with_files` for one that takes uploads) and shares objects with other plugins through
  :attr:`App.extensions <backend.app.App.extensions>`, a registry keyed by type.
* ``sections`` are the configuration tables the plugin reads (``[notes]``). A table no loaded
  plugin claims stops the server at start; a plugin refuses a bad value with
  :class:`~backend.config.ConfigError`, reported with the plugin's name.

The built-in plugins (:data:`BUILTIN`: authentication, runs, models, assets, tracking, registry,
serving, dashboard) are named here by module and imported when the app is assembled: they need no
install step, and one that cannot be imported stops the server with the reason. Other packages add
plugins through the ``plume.plugins`` entry point group (``name = "package.module"`` or ``"package.module:plugin"``).
``backend`` never imports a domain package otherwise.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from .app import App, ServiceHandle
from .config import ConfigError, Settings, service_options
from .errors import Forbidden, NotFound
from .hooklib.timestamps import TIMESTAMP_HOOKS
from .hooklib.validate import load_schema, validate
from .service import METHODS
from .storage import Storage
from .storage.base import StorageAdapter
from .storage.names import fold

log = logging.getLogger(__name__)
ENTRY_POINTS = "plume.plugins"
BUILTIN = ("backend.auth", "services.runs", "services.models", "services.assets", "services.tracking",
           "services.registry", "services.serving", "services.dashboard")
#: The name of a service a client may create by calling it (``services = "*"``).
DYNAMIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}")
CORE_SECTIONS = frozenset({"storage"})  # tables read by the core itself


@dataclass(frozen=True)
class Plugin:
    """A package's contribution to the app: ``setup(app)`` and the config tables it reads."""

    name: str
    setup: Callable[[App], Awaitable[None]]
    sections: tuple[str, ...] = ()


# ------------------------------------------------------------------------------- stored services
async def use_stored(app: App, name: str, *, schema: str | None = None, **defaults: Any) -> ServiceHandle:
    """Register a stored service ``name`` with its configured options, timestamps and schema.

    ``schema`` names ``schemas/<schema>.json`` unless ``[services.<name>] schema`` overrides it;
    ``defaults`` are option defaults (``multi=["remove"]``...) that the configuration may override.
    """
    settings: Settings = app.settings
    raw = {**defaults, **settings.service_options.get(name, {})}
    schema_name = raw.pop("schema", schema)
    schema_doc = load_schema(settings.schema_dirs, schema_name) if schema_name else None
    options = service_options(name, raw, schema_doc)
    options.max_response = settings.max_response
    handle = await app.use(name, app.extensions.get(Storage).adapter(name, options))
    handle.hooks(TIMESTAMP_HOOKS)
    if schema_doc is not None:
        check = validate(schema_doc)
        handle.hooks({"before": {"create": [check], "update": [check], "patch": [check]}})
    return handle


class FileService:
    """A stored service that also takes uploads and serves files: the adapter's six methods, and
    ``upload(parts, params)`` / ``download(id, filename, params)`` (see :mod:`backend.uploads`)."""

    def __init__(self, adapter: StorageAdapter, upload: Callable[..., Awaitable[Any]],
                 download: Callable[..., Awaitable[Any]]) -> None:
        self.adapter = adapter
        self.upload = upload
        self.download = download
        for method in METHODS:
            setattr(self, method, getattr(adapter, method))

    async def setup(self, app: App, path: str) -> None:
        await self.adapter.setup(app, path)

    async def teardown(self) -> None:
        await self.adapter.teardown()


def with_files(handle: ServiceHandle, upload: Callable[..., Awaitable[Any]],
               download: Callable[..., Awaitable[Any]]) -> ServiceHandle:
    """Give the stored service of ``handle`` the custom methods ``upload`` and ``download``: the
    REST transport then routes ``POST /<path>/upload`` and ``GET /<path>/<id>/<filename>`` to them."""
    adapter = handle.adapter
    if adapter is None:
        raise TypeError(f"{handle.path} is not a stored service")
    handle.replace_service(FileService(adapter, upload, download))
    return handle


def dynamic_services(app: App, storage: Storage) -> Callable[[str], Awaitable[Any]]:
    """``App.service_factory`` for services made on first use: a stored service for any allowed
    :data:`DYNAMIC_NAME` that no registered or stored service's name is confusable with.

    ``[services] dynamic`` decides what happens to a name nobody declared (no records stored under
    it, and no ``allow`` list naming it): ``"on"`` creates it, ``"warn"`` creates it with a WARNING
    naming it (and the close name it may be a typo of), ``"off"`` answers 404.
    """
    settings: Settings = app.settings

    async def factory(path: str) -> Any:
        if not DYNAMIC_NAME.fullmatch(path):
            raise NotFound(f"Service '{path}' not found")
        allowed = settings.services
        if allowed != "*" and path not in allowed:
            raise Forbidden("Service is unauthorized")
        # A service another process made (or this one, before a restart) counts too.
        stored = await storage.stored_services()
        other = next((name for name in stored if fold(name) == fold(path) and name != path), None)
        if other is not None:
            raise NotFound(f"Service '{path}' not found (did you mean '{other}'?)")
        if settings.dynamic_services != "on" and allowed == "*" and path not in stored:
            hint = did_you_mean(path, [*app.services, *stored])
            if settings.dynamic_services == "off":
                raise NotFound(f"Service '{path}' not found{hint}: this server creates no service on first use")
            log.warning("service '%s' created on first use%s", path, hint)
        return (await use_stored(app, path)).service

    return factory


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """`` (did you mean 'runs'?)`` when one of ``names`` is close to ``name`` (a typo), else ``""``."""
    candidates = sorted({n for n in names if n != name and DYNAMIC_NAME.fullmatch(n)})
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


# ------------------------------------------------------------------------------- finding plugins
def load_module_plugin(spec: str) -> Plugin:
    """The :class:`Plugin` of ``"package.module"`` (its ``plugin``) or ``"package.module:attr"``."""
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    found = getattr(module, attr or "plugin", None)
    if not isinstance(found, Plugin):
        raise TypeError(f"{spec} has no Plugin named '{attr or 'plugin'}'")
    return found


def discover(builtin: Iterable[str] = BUILTIN) -> list[Plugin]:
    """The built-in plugins, then those installed packages add through entry points.

    ConfigError names a built-in plugin that cannot be loaded (a broken checkout or install):
    the server must not start without it, as it would then serve, say, ``/runs`` without its schema.
    """
    plugins = []
    for spec in builtin:
        try:
            plugins.append(load_module_plugin(spec))
        except Exception as exc:
            raise ConfigError(f"the built-in plugin {spec} could not be loaded: {type(exc).__name__}: {exc}") from exc
    known = {p.name for p in plugins}
    for ep in sorted(entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
        try:
            plugin = load_module_plugin(ep.value)
        except Exception as exc:
            raise ConfigError(f"the plugin {ep.name} ({ep.value}) could not be loaded: "
                              f"{type(exc).__name__}: {exc}") from exc
        if plugin.name not in known:
            plugins.append(plugin)
            known.add(plugin.name)
    return plugins


async def set_up(app: App, plugins: Iterable[Plugin]) -> None:
    """Run each plugin's setup, then refuse configuration tables that nobody reads."""
    claimed = set(CORE_SECTIONS)
    for plugin in plugins:
        claimed.update(plugin.sections)
        log.debug("setting up plugin %s", plugin.name)
        try:
            await plugin.setup(app)
        except ConfigError as exc:
            raise ConfigError(f"plugin {plugin.name}: {exc}") from None
    unread = sorted(set(app.settings.sections) - claimed)
    if unread:
        raise ConfigError(f"unknown setting(s) {', '.join(f'[{s}]' for s in unread)}: no loaded plugin reads "
                          f"them (tables read: {', '.join(sorted(claimed))})")

