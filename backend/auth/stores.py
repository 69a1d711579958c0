"""Internal tables of authentication, on the app's storage but unreachable from clients.

Their names start with ``_``, which no dynamic service name may (so no REST path reaches them):

* ``_auth_emails``: one record per registered email, keyed by the email. Inserting one is atomic on
  every adapter (a duplicate key is a Conflict), so two concurrent signups with one email cannot
  both succeed, even across processes, without a unique-index feature in each adapter.
* ``_auth_usernames``: one record per username, keyed by it, likewise (usernames are unique).
* ``_auth_revoked``: the ids (``jti``) of access tokens revoked by logout, until they expire.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import Conflict
from ..query import Cmp, Query
from ..storage import Storage
from ..storage.base import AdapterOptions, StorageAdapter

EMAILS, USERNAMES, REVOKED = "_auth_emails", "_auth_usernames", "_auth_revoked"
STALE_AFTER = 60.0  # seconds after which a claim without its user may be taken over


async def internal_adapter(app: Any, name: str) -> StorageAdapter:
    """A set-up adapter of the app's storage for the internal table ``name``."""
    adapter: StorageAdapter = app.extensions.get(Storage).adapter(name, AdapterOptions(paginate=None))
    await adapter.setup(app, name)
    app.on_teardown(adapter.teardown)
    return adapter


class Claims:
    """Which user holds each value of a unique user ``field`` (``email``, ``username``)."""

    def __init__(self, adapter: StorageAdapter, users: StorageAdapter, field: str = "email") -> None:
        self.adapter = adapter
        self.users = users
        self.field = field

    async def claim(self, value: str, user_id: str) -> None:
        """Reserve the value ``value`` for ``user_id``; Conflict (409) when another user has it."""
        record = {"_id": value, "userId": user_id, "at": time.time()}
        try:
            await self.adapter._insert([record])
            return
        except Conflict:
            held = await self.adapter._get_key(value)
        if held is not None and held.get("userId") == user_id:
            return
        # A claim is stale when its user is gone or has another value (a crash between the claim
        # and the user's write), but only once it is old: a fresh one's user may not be written yet.
        owner = await self.users._get_key(str(held.get("userId"))) if held else None
        fresh = held is not None and time.time() - float(held.get("at") or 0) < STALE_AFTER
        if fresh or (owner is not None and owner.get(self.field) == value):
            raise Conflict(f"A user with this {self.field} already exists", errors={self.field: "already registered"})
        await self.adapter._replace(value, record)

    async def release(self, value: str, user_id: str) -> None:
        """Give ``value`` back, if ``user_id`` holds it."""
        held = await self.adapter._get_key(value)
        if held is not None and held.get("userId") == user_id:
            await self.adapter._delete([value])


class EmailClaims(Claims):
    """Which user holds which email (emails compared lowercased)."""


class Revocations:
    """Revoked token ids, kept until the token would have expired anyway."""

    def __init__(self, adapter: StorageAdapter) -> None:
        self.adapter = adapter

    async def revoke(self, jti: str, exp: int) -> None:
        """Refuse the token ``jti`` from now on (kept until its expiry ``exp``, a UNIX time)."""
        try:
            await self.adapter._insert([{"_id": jti, "exp": exp}])
        except Conflict:
            pass  # already revoked

    async def is_revoked(self, jti: str) -> bool:
        """True when the token ``jti`` was revoked."""
        return await self.adapter._get_key(jti) is not None

    async def purge(self) -> int:
        """Forget revocations of tokens that have expired; returns how many."""
        expired = await self.adapter._find(Query(where=Cmp(("exp",), "$lt", int(time.time()))))
        if expired:
            await self.adapter._delete([str(r["_id"]) for r in expired])
        return len(expired)
