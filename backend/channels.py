"""Real-time connections and channels.

A channel is a name; joining one is delegated to the transport that owns the connection (the
socket.io transport maps channels to rooms, so python-socketio's Redis manager fans events out
across processes). Publishers decide, per event, which channels receive it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .hooks import HookContext


@dataclass(eq=False)
class Connection:
    """One real-time client. ``data`` holds what hooks attach (user, authentication...)."""

    id: str
    provider: str
    join_fn: Callable[[str], Awaitable[None]]
    leave_fn: Callable[[str], Awaitable[None]]
    data: dict[str, Any] = field(default_factory=dict)
    channels: set[str] = field(default_factory=set)
    disconnect_fn: Callable[[], Awaitable[None]] | None = None

    async def disconnect(self) -> None:
        """Close the connection from the server side (an expired token, say)."""
        if self.disconnect_fn is not None:
            await self.disconnect_fn()

    async def join(self, *names: str) -> None:
        for name in names:
            if name not in self.channels:
                self.channels.add(name)
                await self.join_fn(name)

    async def leave(self, *names: str) -> None:
        for name in names:
            if name in self.channels:
                self.channels.discard(name)
                await self.leave_fn(name)

    async def leave_all(self) -> None:
        await self.leave(*list(self.channels))


@dataclass(frozen=True)
class Channel:
    """A channel to publish to with other data than the event's record (Feathers' ``channel.send``),
    e.g. without a secret the caller alone may see once."""

    name: str
    data: Any


Publisher = Callable[[Any, "HookContext"], "Iterable[str | Channel] | Awaitable[Iterable[str | Channel]] | None"]
