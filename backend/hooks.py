"""HookContext and hook composition.

Order for one call (as in Feathers v5)::

    app around → service around → app before → service before → METHOD
               → service after → app after
    (on error: service error → app error; an error hook may set ``context.error = None``
     and ``context.result`` to recover)

A before hook that sets ``context.result`` skips the method; the remaining hooks still run.
Hooks are ``async def hook(ctx) -> None`` (before/after/error) or
``async def hook(ctx, next) -> None`` (around, must ``await next()``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .app import App, ServiceHandle


class _NotSet:
    _instance: _NotSet | None = None

    def __new__(cls) -> _NotSet:
        cls._instance = cls._instance or super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_SET"

    def __bool__(self) -> bool:
        return False


NOT_SET: Any = _NotSet()


@dataclass
class Params:
    """Call parameters. ``provider`` is ``"rest"``, ``"socketio"`` or None for internal calls."""

    query: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None
    user: dict[str, Any] | None = None
    authentication: dict[str, Any] | None = None
    connection: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # REST query values arrive as strings and must be coerced by the service.
    query_is_text: bool = False
    # Values the REST path carries besides the service path (``POST /<path>/<id>/<custom method>``).
    route: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class HookContext:
    """Everything a hook may read or change about one service call."""

    app: App
    path: str
    method: str
    service: ServiceHandle
    params: Params
    id: Any = None
    data: Any = None
    type: Literal["around", "before", "after", "error"] = "around"
    result: Any = NOT_SET
    dispatch: Any = NOT_SET  # what transports send (and events carry) instead of result, when set
    error: BaseException | None = None
    event: str | None = None
    status_code: int | None = None  # a hook may override the REST success status

    @property
    def safe_result(self) -> Any:
        """What leaves the server: ``dispatch`` when a hook set it, else ``result``."""
        return self.result if self.dispatch is NOT_SET else self.dispatch


Hook = Callable[[HookContext], Awaitable[Any]]
AroundHook = Callable[[HookContext, Callable[[], Awaitable[None]]], Awaitable[Any]]
HOOK_TYPES = ("around", "before", "after", "error")


class HookRegistry:
    """Hooks of one owner (the app or a service), by type and method (``all`` runs first)."""

    def __init__(self) -> None:
        self._hooks: dict[str, dict[str, list[Any]]] = {t: {} for t in HOOK_TYPES}
        self.version = 0  # bumped on change so compiled chains can be cached

    def register(self, spec: Mapping[str, Any]) -> None:
        """Add hooks: ``{"before": {"all": [h], "create": [h2]}, "after": [h3]}``.

        A list (instead of a dict) means ``all`` methods, custom ones (upload, download) included.
        """
        for hook_type, value in spec.items():
            if hook_type not in HOOK_TYPES:
                raise ValueError(f"unknown hook type {hook_type!r}")
            by_method = {"all": value} if isinstance(value, (list, tuple)) else dict(value)
            for method, hooks in by_method.items():
                self._hooks[hook_type].setdefault(method, []).extend(
                    hooks if isinstance(hooks, (list, tuple)) else [hooks]
                )
        self.version += 1

    def get(self, hook_type: str, method: str) -> list[Any]:
        by_method = self._hooks[hook_type]
        return by_method.get("all", []) + by_method.get(method, [])


def invoke(ctx: HookContext, method: Callable[..., Awaitable[Any]], arg_names: tuple[str, ...]) -> Awaitable[Any]:
    """``method(*args, params)`` with the context's current ``id``/``data`` (as hooks left them).

    A plain function returning the method's awaitable: no coroutine frame of its own per call.
    """
    if not arg_names:
        return method(ctx.params)
    if len(arg_names) == 1:
        return method(getattr(ctx, arg_names[0]), ctx.params)
    return method(*[getattr(ctx, a) for a in arg_names], ctx.params)


async def run_hooks(
    ctx: HookContext,
    chain: HookChain,
    method: Callable[..., Awaitable[Any]],
    arg_names: tuple[str, ...],
) -> HookContext:
    """Run one call through its compiled hook chain; return the context (``ctx.error`` set on failure).

    ``method`` is called as ``method(*[getattr(ctx, a) for a in arg_names], ctx.params)`` unless a
    before hook set ``ctx.result``. No closure is made per call unless the chain has around hooks.
    """
    try:
        if chain.around:
            await _around(ctx, chain, method, arg_names, 0)
        else:
            await _core(ctx, chain, method, arg_names)
    except Exception as exc:
        ctx.error = exc
        ctx.type = "error"
        for hook in chain.error:
            try:
                await hook(ctx)
            except Exception as hook_exc:
                ctx.error = hook_exc
    return ctx


async def _core(ctx: HookContext, chain: HookChain, method: Callable[..., Awaitable[Any]],
                arg_names: tuple[str, ...]) -> None:
    """Before hooks, the method (unless a before hook set the result), after hooks."""
    ctx.type = "before"
    for hook in chain.before:
        await hook(ctx)
    if ctx.result is NOT_SET:
        ctx.result = await invoke(ctx, method, arg_names)
    ctx.type = "after"
    for hook in chain.after:
        await hook(ctx)


async def _around(ctx: HookContext, chain: HookChain, method: Callable[..., Awaitable[Any]],
                  arg_names: tuple[str, ...], i: int) -> None:
    """Around hook ``i``, whose ``next()`` runs hook ``i + 1`` (or the core after the last one)."""
    if i == len(chain.around):
        await _core(ctx, chain, method, arg_names)
        return
    ctx.type = "around"
    await chain.around[i](ctx, lambda: _around(ctx, chain, method, arg_names, i + 1))


@dataclass(frozen=True)
class HookChain:
    """The hooks of one (service, method), in run order."""

    around: tuple[Any, ...]
    before: tuple[Any, ...]
    after: tuple[Any, ...]
    error: tuple[Any, ...]

    @staticmethod
    def compile(app: HookRegistry, service: HookRegistry, method: str, last_after: tuple[Any, ...] = ()) -> HookChain:
        """App hooks wrap service hooks; ``last_after`` (event emission) runs after every after hook."""
        return HookChain(
            around=tuple(app.get("around", method) + service.get("around", method)),
            before=tuple(app.get("before", method) + service.get("before", method)),
            after=tuple(service.get("after", method) + app.get("after", method)) + last_after,
            error=tuple(service.get("error", method) + app.get("error", method)),
        )
