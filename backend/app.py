"""The App: services, hooks, events, channels, setup and teardown. Knows no transport."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from .channels import Channel, Connection, Publisher
from .errors import BadRequest, MethodNotAllowed, NotFound
from .hooks import NOT_SET, HookChain, HookContext, HookRegistry, Params, run_hooks
from .service import ALL_METHODS, CUSTOM_NAME, METHODS, MethodSpec, custom_method
from .storage.base import StorageAdapter
from .storage.names import fold

log = logging.getLogger(__name__)
EventListener = Callable[[str, str, Any, HookContext], Awaitable[None] | None]
DispatchListener = Callable[[str, Any, list[str]], Awaitable[None]]
Signal = dict[str, Any]
SignalListener = Callable[[Signal], Awaitable[None]]
ServiceFactory = Callable[[str], Awaitable[Any | None]]
T = TypeVar("T")


class Extensions:
    """Objects the app's parts share, one per type: the storage, the blob store, what a plugin
    offers others (``app.extensions.get(ConversionManager)``). Typed lookups, no ad-hoc attributes."""

    def __init__(self) -> None:
        self._items: dict[type, Any] = {}

    def add(self, kind: type[T], value: T) -> T:
        """Register ``value`` as the app's ``kind`` (ValueError when there is one already)."""
        if kind in self._items:
            raise ValueError(f"the app has a {kind.__name__} already")
        self._items[kind] = value
        return value

    def get(self, kind: type[T]) -> T:
        """The app's ``kind`` (LookupError, naming it, when no part of the app registered one)."""
        try:
            return self._items[kind]  # type: ignore[no-any-return]
        except KeyError:
            raise LookupError(f"the app has no {kind.__name__}: is the plugin that provides it loaded?") from None

    def find(self, kind: type[T]) -> T | None:
        """The app's ``kind``, or None."""
        return self._items.get(kind)


class _MethodPlan:
    """What one call of a method needs, computed once per hook-registry version (not per call)."""

    __slots__ = ("app_version", "chain", "data_at", "id_at", "own_version", "spec")

    def __init__(self, spec: MethodSpec, chain: HookChain, app_version: int, own_version: int) -> None:
        self.spec = spec
        self.chain = chain
        self.app_version = app_version
        self.own_version = own_version
        self.id_at = spec.args.index("id") if "id" in spec.args else -1
        self.data_at = spec.args.index("data") if "data" in spec.args else -1


class ServiceHandle:
    """What ``app.service(path)`` returns: a service's methods, run through their hooks."""

    def __init__(self, app: App, path: str, service: Any, options: Mapping[str, Any]) -> None:
        self.app = app
        self.path = path
        self.options = dict(options)
        self.replace_service(service)
        self.registry = HookRegistry()
        self.publisher: Publisher | None = None
        self._listeners: dict[str, list[Callable[[Any, HookContext], Any]]] = {}
        self._plans: dict[str, _MethodPlan] = {}

    def replace_service(self, service: Any) -> None:
        """Serve ``service`` at this path from now on (hooks and listeners stay): e.g. a wrapper that
        adds methods to a stored service (:func:`backend.plugins.with_files`).

        Besides the standard methods it has, clients may call the custom methods the ``methods``
        option names (:func:`backend.service.custom_method`); ValueError for a name that is not a
        plain lowercase-first identifier, a standard method's, or a method the service lacks.
        """
        self.service = service
        self.methods = frozenset(m for m in ALL_METHODS if callable(getattr(service, m, None)))
        custom = frozenset(self.options.get("methods", ()))
        for name in custom:
            if not CUSTOM_NAME.fullmatch(name) or name in ALL_METHODS or not callable(getattr(service, name, None)):
                raise ValueError(f"{self.path}: {name!r} cannot be a custom method of this service")
        #: The service's own custom methods that clients may call (Feathers' ``methods`` option).
        self.custom = custom
        #: The storage adapter behind the service (None when it is not a stored service).
        self.adapter: StorageAdapter | None = (
            service if isinstance(service, StorageAdapter) else getattr(service, "adapter", None))

    @property
    def store(self) -> StorageAdapter:
        """The storage adapter of a stored service (TypeError for one that stores nothing): what
        hooks registered on stored services read and write around the method."""
        if self.adapter is None:
            raise TypeError(f"service {self.path!r} is not a stored service")
        return self.adapter

    def hooks(self, spec: Mapping[str, Any]) -> ServiceHandle:
        """Register service hooks (see :mod:`backend.hooks`)."""
        self.registry.register(spec)
        return self

    def publish(self, publisher: Publisher) -> None:
        """Choose the channels that receive this service's events (overrides the app publisher)."""
        self.publisher = publisher

    def on(self, event: str, listener: Callable[[Any, HookContext], Any]) -> None:
        """Call ``listener(record, context)`` in-process after each ``event`` (created, patched...)."""
        self._listeners.setdefault(event, []).append(listener)

    def chain(self, method: str) -> HookChain:
        """The compiled hooks of ``method`` (recompiled when app or service hooks changed)."""
        return self._plan(method).chain

    def _plan(self, method: str) -> _MethodPlan:
        plan = self._plans.get(method)
        app_version, own_version = self.app.registry.version, self.registry.version
        if plan is None or plan.app_version != app_version or plan.own_version != own_version:
            chain = HookChain.compile(self.app.registry, self.registry, method, (self.app.emit_events,))
            spec = ALL_METHODS[method] if method in ALL_METHODS else custom_method(method)
            plan = _MethodPlan(spec, chain, app_version, own_version)
            self._plans[method] = plan
        return plan

    async def call(self, method: str, *args: Any, params: Params | None = None) -> HookContext:
        """Run ``method`` through the hooks; never raises: the context carries ``error`` or ``result``."""
        if params is None:
            params = Params()
        ctx = HookContext(self.app, self.path, method, self, params)
        if method not in self.methods and method not in self.custom:
            ctx.error = MethodNotAllowed(f"Method `{method}` is not supported by this endpoint.")
            return ctx
        plan = self._plan(method)
        spec = plan.spec
        if spec.args:  # positional arguments by name, missing ones None (what dict(zip(...)) gave)
            n = len(args)
            if 0 <= plan.id_at < n:
                ctx.id = args[plan.id_at]
            if 0 <= plan.data_at < n:
                ctx.data = args[plan.data_at]
        ctx.event = spec.event
        if method == "update" and ctx.id is None:
            ctx.error = BadRequest("You can not replace multiple instances. Did you mean 'patch'?")
            return ctx
        await run_hooks(ctx, plan.chain, getattr(self.service, method), spec.args)
        if ctx.error is None and ctx.result is NOT_SET:
            ctx.result = None
        return ctx

    async def _run(self, method: str, *args: Any, params: Params | None) -> Any:
        ctx = await self.call(method, *args, params=params)
        if ctx.error is not None:
            raise ctx.error
        return ctx.result



def _internal_call(spec: MethodSpec) -> Callable[..., Awaitable[Any]]:
    """``handle.<method>(*args, params=None)`` for one method of the table: a server-side call
    (provider None) through the hooks, whose error raises. ``params`` may also come last among
    the positional arguments, as the service methods take it."""
    arity = len(spec.args)

    async def call(self: ServiceHandle, *args: Any, params: Params | None = None) -> Any:
        if len(args) == arity + 1 and params is None:
            *args, params = args  # type: ignore[assignment]
        if len(args) > arity:
            raise TypeError(f"{spec.name}() takes {arity} arguments and params, got {len(args)}")
        return await self._run(spec.name, *args, params=params)

    call.__name__ = call.__qualname__ = spec.name
    signature = ", ".join([*spec.args, "params"])
    call.__doc__ = f"``{spec.name}({signature})`` from the server itself: hooks run, errors raise."
    return call


# The six methods come from the one method table (backend.service), like the transports' routes.
for _spec in METHODS.values():
    setattr(ServiceHandle, _spec.name, _internal_call(_spec))


class App:
    """A Feathers-style application: ``use`` services, add hooks, publish events."""

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings
        self.extensions = Extensions()
        self.services: dict[str, ServiceHandle] = {}
        self._folds: dict[str, str] = {}  # fold(path) -> path of every registered service
        self.path_depth = 1  # segments of the deepest registered path: transports try no longer prefixes
        self.registry = HookRegistry()
        self.publisher: Publisher | None = None
        self.service_factory: ServiceFactory | None = None
        self.connections: dict[str, Connection] = {}
        self._event_listeners: list[EventListener] = []
        self._dispatchers: list[DispatchListener] = []
        self._connection_listeners: list[Callable[[Connection], Awaitable[None]]] = []
        self._disconnect_listeners: list[Callable[[Connection], Awaitable[None]]] = []
        self._signal_listeners: list[SignalListener] = []
        self._signal_fanout: SignalListener | None = None
        self._setup_fns: list[Callable[[], Awaitable[None]]] = []
        self._teardown_fns: list[Callable[[], Awaitable[None]]] = []
        self._creating: dict[str, asyncio.Lock] = {}
        self.started = False
        self.auth_enabled = False  # set by the authentication plugin; announced in socket.io `init`
        self.owner_field: str | None = None  # with authentication on, the field naming a record's owner
        # Set by a transport whose events reach other processes (socket.io over Redis): then an event
        # is published even when this process holds no real-time connection.
        self.events_leave_process = False
        # May refuse a caller the creation of a dynamic service (authentication: anonymous callers).
        self.creation_guard: Callable[[str, Params], Awaitable[None]] | None = None
        #: Static pages by mount point (``/`` or ``/_<name>``): see :mod:`backend.pages`.
        self.mounts: dict[str, Any] = {}

    # ------------------------------------------------------------------ services
    async def use(self, path: str, service: Any, options: Mapping[str, Any] | None = None) -> ServiceHandle:
        """Register ``service`` at ``path`` (runs its ``setup`` when the app is already started).

        ValueError when another service's path differs from ``path`` only in case or ``_``/``-``
        (:meth:`confusable`): clients could not tell them apart.
        """
        path = path.strip("/")
        other = self.confusable(path)
        if other is not None:
            raise ValueError(f"service path {path!r} is confusable with the registered {other!r}")
        handle = ServiceHandle(self, path, service, options or {})
        self.services[path] = handle
        self._folds[fold(path)] = path
        self.path_depth = max(self.path_depth, path.count("/") + 1)
        if self.started and hasattr(service, "setup"):
            await service.setup(self, path)
        return handle

    def mount(self, point: str, pages: Any) -> None:
        """Serve ``pages`` (:func:`backend.pages.static_pages`) at ``point``: ``/`` (the root page)
        or ``/_<name>`` (its files); ValueError for any other point or one taken."""
        from .pages import MOUNT

        if not MOUNT.fullmatch(point) or point in self.mounts:
            raise ValueError(f"cannot mount pages at {point!r} (use '/' or '/_<name>', once)")
        self.mounts[point] = pages

    def service(self, path: str) -> ServiceHandle:
        """The registered service at ``path`` (NotFound when there is none)."""
        handle = self.services.get(path.strip("/"))
        if handle is None:
            raise NotFound(f"Service '{path}' not found")
        return handle

    def confusable(self, path: str) -> str | None:
        """The registered path that differs from ``path`` only in case or ``_``/``-`` (else None)."""
        other = self._folds.get(fold(path))
        return other if other is not None and other != path else None

    async def resolve(self, path: str, params: Params | None = None) -> ServiceHandle:
        """Like :meth:`service`, but creates a dynamic service through ``service_factory``.

        ``params`` are the caller's (None for the server's own calls); ``creation_guard``, when
        set, may refuse a caller the creation of a service.
        """
        path = path.strip("/")
        handle = self.services.get(path)
        if handle is not None:
            return handle
        if self.service_factory is None:
            raise NotFound(f"Service '{path}' not found")
        if self.creation_guard is not None and params is not None:
            await self.creation_guard(path, params)
        # One lock per fold: two confusable paths are never created side by side.
        key = fold(path)
        lock = self._creating.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if path not in self.services:
                    other = self.confusable(path)
                    if other is not None:
                        raise NotFound(f"Service '{path}' not found (did you mean '{other}'?)")
                    service = await self.service_factory(path)
                    if service is None:
                        raise NotFound(f"Service '{path}' not found")
                    if path not in self.services:  # the factory may have registered it itself
                        await self.use(path, service)
        finally:
            if not lock.locked() and self._creating.get(key) is lock:
                del self._creating[key]  # no lock per refused path kept (callers may name any)
        return self.services[path]

    # ------------------------------------------------------------------ hooks and events
    def hooks(self, spec: Mapping[str, Any]) -> App:
        """Register app-level hooks, which wrap every service's hooks."""
        self.registry.register(spec)
        return self

    def on_event(self, listener: EventListener) -> None:
        """In-process listener of every service event: ``listener(path, event, record, ctx)``."""
        self._event_listeners.append(listener)

    def on_dispatch(self, listener: DispatchListener) -> None:
        """Transports register here: ``listener(event_name, data, channels)`` sends an event out."""
        self._dispatchers.append(listener)

    def publish(self, publisher: Publisher) -> None:
        """Default publisher: ``publisher(record, ctx)`` returns the channel names to send to."""
        self.publisher = publisher

    async def emit_events(self, ctx: HookContext) -> None:
        """The last after hook of every call: one event per record of a successful write."""
        event = ctx.event
        if event is None or ctx.error is not None:
            return
        data = ctx.safe_result
        records = data if isinstance(data, list) else [data]
        handle = ctx.service
        own = handle._listeners.get(event)
        publisher = handle.publisher or self.publisher
        if publisher is None or not self._dispatchers or not (self.connections or self.events_leave_process):
            publisher = None  # nobody could hear it: choosing channels (permission checks) is skipped
        name = f"{ctx.path} {event}"
        for record in records:
            if own or self._event_listeners:
                await self._notify(ctx, event, record, own or ())
            if publisher is None:
                continue
            channels = publisher(record, ctx)
            if type(channels) is not list and inspect.isawaitable(channels):  # a list is the common answer
                channels = await channels
            for payload, names in _by_payload(record, channels or ()):
                for dispatch in self._dispatchers:
                    await dispatch(name, payload, names)

    async def _notify(self, ctx: HookContext, event: str, record: Any,
                      own: Iterable[Callable[[Any, HookContext], Any]]) -> None:
        """In-process listeners of one event: the service's, then the app's; a failing one is logged."""
        calls = [(fn, (record, ctx)) for fn in own]
        calls += [(fn, (ctx.path, event, record, ctx)) for fn in self._event_listeners]
        for fn, args in calls:
            try:
                res = fn(*args)
                if inspect.isawaitable(res):
                    await res
            except Exception:
                log.exception("event listener failed for %s %s", ctx.path, event)

    # ------------------------------------------------------------------ connections
    def on_connection(self, fn: Callable[[Connection], Awaitable[None]]) -> None:
        self._connection_listeners.append(fn)

    def on_disconnect(self, fn: Callable[[Connection], Awaitable[None]]) -> None:
        self._disconnect_listeners.append(fn)

    async def connected(self, conn: Connection) -> None:
        """Transports call this for every new real-time connection."""
        self.connections[conn.id] = conn
        for fn in self._connection_listeners:
            await fn(conn)

    async def disconnected(self, conn: Connection) -> None:
        self.connections.pop(conn.id, None)
        for fn in self._disconnect_listeners:
            await fn(conn)

    # ------------------------------------------------------------------ signals between processes
    def on_signal(self, listener: SignalListener) -> None:
        """Call ``listener(message)`` for every :meth:`signal`, whichever process sent it."""
        self._signal_listeners.append(listener)

    def set_signal_fanout(self, fanout: SignalListener) -> None:
        """A transport that links several processes (socket.io over Redis) carries signals to all of
        them; each then calls :meth:`deliver_signal`. Without one, signals stay in this process."""
        self._signal_fanout = fanout

    async def signal(self, message: Signal) -> None:
        """Tell every process serving this app (this one included) about ``message``: e.g. that a
        user changed, so that each updates the real-time connections it holds."""
        if self._signal_fanout is not None:
            await self._signal_fanout(message)
        else:
            await self.deliver_signal(message)

    async def deliver_signal(self, message: Signal) -> None:
        for listener in self._signal_listeners:
            try:
                await listener(message)
            except Exception:
                log.exception("signal listener failed for %s", message.get("type"))

    # ------------------------------------------------------------------ lifecycle
    def on_setup(self, fn: Callable[[], Awaitable[None]]) -> None:
        self._setup_fns.append(fn)

    def on_teardown(self, fn: Callable[[], Awaitable[None]]) -> None:
        self._teardown_fns.append(fn)

    async def setup(self) -> None:
        """Set up every registered service, then the setup callbacks."""
        for path, handle in list(self.services.items()):
            if hasattr(handle.service, "setup"):
                await handle.service.setup(self, path)
        self.started = True
        for fn in self._setup_fns:
            await fn()

    async def teardown(self) -> None:
        """Tear services down, then the teardown callbacks (in reverse order of registration)."""
        self.started = False
        for handle in list(self.services.values()):
            if hasattr(handle.service, "teardown"):
                try:
                    await handle.service.teardown()
                except Exception:
                    log.exception("teardown of %s failed", handle.path)
        for fn in reversed(self._teardown_fns):
            await fn()


def _by_payload(record: Any, channels: Iterable[Any]) -> list[tuple[Any, list[str]]]:
    """Channel names grouped by what they receive: the record, or a :class:`Channel`'s own data."""
    if type(channels) is list and all(type(c) is str for c in channels):
        # The common publisher answer (plain names): one group, duplicates dropped in order.
        return [(record, list(dict.fromkeys(channels)))] if channels else []
    groups: list[tuple[Any, list[str]]] = [(record, [])]
    for channel in channels:
        data = channel.data if isinstance(channel, Channel) else record
        name = getattr(channel, "name", channel)
        if not isinstance(name, str):
            continue
        group = next((g for g in groups if g[0] is data), None)
        if group is None:
            group = (data, [])
            groups.append(group)
        if name not in group[1]:
            group[1].append(name)
    return [g for g in groups if g[1]]
