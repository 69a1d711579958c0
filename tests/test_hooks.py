"""Hook order, skipping the method, error hooks, dispatch and custom methods (in-process App)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.app import App
from backend.channels import Connection
from backend.errors import BadRequest, MethodNotAllowed
from backend.hooks import HookContext, Params


class Echo:
    async def get(self, id: Any, params: Params) -> dict[str, Any]:
        return {"id": id}

    async def create(self, data: Any, params: Params) -> Any:
        if data.get("fail"):
            raise BadRequest("asked to fail")
        return data


def recorder(log: list[str], name: str) -> Any:
    async def hook(ctx: HookContext) -> None:
        log.append(f"{name}:{ctx.type}")

    return hook


def around(log: list[str], name: str) -> Any:
    async def hook(ctx: HookContext, nxt: Any) -> None:
        log.append(f"{name}:in")
        await nxt()
        log.append(f"{name}:out")

    return hook


async def test_documented_order() -> None:
    app, log = App(), []
    svc = await app.use("echo", Echo())
    app.hooks({"around": [around(log, "app")], "before": [recorder(log, "app")], "after": [recorder(log, "app")]})
    svc.hooks({"around": {"get": [around(log, "svc")]}, "before": {"all": [recorder(log, "svc-all")],
               "get": [recorder(log, "svc-get")]}, "after": [recorder(log, "svc")]})
    assert await svc.get(1) == {"id": 1}
    assert log == ["app:in", "svc:in", "app:before", "svc-all:before", "svc-get:before", "svc:after",
                   "app:after", "svc:out", "app:out"]


async def test_result_in_before_skips_method_but_not_later_hooks() -> None:
    app, log = App(), []

    async def short(ctx: HookContext) -> None:
        ctx.result = {"cached": True}

    svc = await app.use("echo", Echo())
    svc.hooks({"before": [short, recorder(log, "later")], "after": [recorder(log, "after")]})
    assert await svc.get(1) == {"cached": True}
    assert log == ["later:before", "after:after"]


async def test_error_hooks_see_and_may_replace_or_recover() -> None:
    app, seen = App(), []

    async def on_error(ctx: HookContext) -> None:
        seen.append(type(ctx.error).__name__)
        if ctx.data.get("recover"):
            ctx.error = None
            ctx.result = {"recovered": True}

    svc = await app.use("echo", Echo())
    svc.hooks({"error": [on_error]})
    with pytest.raises(BadRequest):
        await svc.create({"fail": True})
    assert await svc.create({"fail": True, "recover": True}) == {"recovered": True}
    assert seen == ["BadRequest", "BadRequest"]


async def test_dispatch_is_what_events_carry() -> None:
    app, events = App(), []

    async def hide(ctx: HookContext) -> None:
        ctx.dispatch = {k: v for k, v in ctx.result.items() if k != "secret"}

    svc = await app.use("echo", Echo())
    svc.hooks({"after": {"create": [hide]}})
    svc.on("created", lambda rec, ctx: events.append(rec))
    ctx = await svc.call("create", {"a": 1, "secret": "s"}, params=Params())
    assert ctx.result == {"a": 1, "secret": "s"} and ctx.safe_result == {"a": 1}
    assert events == [{"a": 1}]


async def test_missing_method_is_405_and_reads_do_not_emit() -> None:
    app, events = App(), []
    svc = await app.use("echo", Echo())
    app.on_event(lambda *a: events.append(a))
    ctx = await svc.call("remove", 1, params=Params())
    assert isinstance(ctx.error, MethodNotAllowed)
    await svc.get(1)
    assert events == []


async def test_event_can_be_suppressed() -> None:
    app, events = App(), []

    async def quiet(ctx: HookContext) -> None:
        ctx.event = None

    svc = await app.use("echo", Echo())
    svc.hooks({"before": {"create": [quiet]}})
    app.on_event(lambda *a: events.append(a))
    await svc.create({"a": 1})
    assert events == []


async def test_hooks_added_after_calls_apply_to_the_next_call() -> None:
    """Compiled chains are cached per method: app or service hooks added later invalidate them,
    and a method with no hooks at all (called directly) gains them too."""
    app, log = App(), []
    svc = await app.use("echo", Echo())
    events: list[Any] = []
    svc.on("created", lambda rec, ctx: events.append((rec, ctx.type)))
    assert await svc.get(1) == {"id": 1} and await svc.create({"a": 1}) == {"a": 1}
    assert log == [] and events == [({"a": 1}, "after")]
    app.hooks({"before": [recorder(log, "app")]})
    await svc.get(2)
    assert log == ["app:before"]
    svc.hooks({"after": {"get": [recorder(log, "svc")]}, "around": {"create": [around(log, "svc")]}})
    await svc.get(3)
    await svc.create({"b": 2})
    assert log == ["app:before", "app:before", "svc:after", "svc:in", "app:before", "svc:out"]
    assert events[-1] == ({"b": 2}, "after")


async def test_a_method_without_hooks_still_captures_errors_and_emits() -> None:
    app, events = App(), []
    svc = await app.use("echo", Echo())
    app.on_event(lambda path, event, rec, ctx: events.append((path, event, rec)))
    ctx = await svc.call("create", {"fail": True}, params=Params())
    assert isinstance(ctx.error, BadRequest) and ctx.type == "error" and events == []
    ctx = await svc.call("create", {"ok": 1}, params=Params())
    assert ctx.error is None and ctx.result == {"ok": 1} and events == [("echo", "created", {"ok": 1})]
    ctx = await svc.call("get", params=Params())  # a missing id is None, as before
    assert ctx.result == {"id": None}


async def test_publisher_runs_only_when_someone_could_hear() -> None:
    """Choosing channels may cost permission checks: with no real-time connection in this process and
    no transport carrying events to others, it is skipped; in-process listeners still hear."""
    app, chosen, sent, heard = App(), [], [], []

    async def nothing(_: str) -> None:
        return None

    async def dispatch(name: str, data: Any, channels: Any) -> None:
        sent.append(name)

    app.publish(lambda rec, ctx: chosen.append(rec) or ["all"])
    app.on_dispatch(dispatch)
    app.on_event(lambda *a: heard.append(a[1]))
    svc = await app.use("echo", Echo())
    await svc.create({"a": 1})
    assert (chosen, sent, heard) == ([], [], ["created"])
    app.events_leave_process = True  # socket.io over Redis: other processes may hold listeners
    await svc.create({"a": 2})
    app.events_leave_process = False
    await app.connected(Connection("c1", "socketio", nothing, nothing))
    await svc.create({"a": 3})
    assert chosen == [{"a": 2}, {"a": 3}] and sent == ["echo created"] * 2


async def test_refused_dynamic_paths_leave_nothing_behind() -> None:
    """Callers may name any path: one the factory refuses keeps no per-path state."""
    from backend.errors import NotFound

    app = App()

    async def refuse(path: str) -> None:
        return None

    app.service_factory = refuse
    for i in range(50):
        with pytest.raises(NotFound):
            await app.resolve(f"nope{i}")
    assert app._creating == {}
