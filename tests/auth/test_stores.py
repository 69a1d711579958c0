"""The internal tables of authentication: email claims (atomic, stale ones taken over) and revocations."""

from __future__ import annotations

import time

import pytest

from backend.auth.stores import STALE_AFTER, EmailClaims, Revocations
from backend.errors import Conflict
from backend.storage.base import AdapterOptions
from backend.storage.memory import MemoryAdapter


def claims() -> tuple[EmailClaims, MemoryAdapter, MemoryAdapter]:
    table, users = MemoryAdapter("_auth_emails", AdapterOptions()), MemoryAdapter("users", AdapterOptions())
    return EmailClaims(table, users), table, users


async def test_claims() -> None:
    c, table, users = claims()
    await c.claim("a@x.org", "u1")
    await c.claim("a@x.org", "u1")  # its own claim again: fine
    with pytest.raises(Conflict):
        await c.claim("a@x.org", "u2")  # fresh, its user not written yet: still held
    await users._insert([{"_id": "u1", "email": "a@x.org"}])
    table.store["a@x.org"]["at"] = time.time() - STALE_AFTER - 1
    with pytest.raises(Conflict):
        await c.claim("a@x.org", "u2")  # old, but its user has the email
    await users._patch(["u1"], {"email": "b@x.org"})
    await c.claim("a@x.org", "u2")  # old and its user moved on: stale, taken over
    assert table.store["a@x.org"]["userId"] == "u2"
    await c.release("a@x.org", "u1")  # not u1's any more: kept
    assert "a@x.org" in table.store
    await c.release("a@x.org", "u2")
    assert "a@x.org" not in table.store


async def test_revocations() -> None:
    r = Revocations(MemoryAdapter("_auth_revoked", AdapterOptions()))
    await r.revoke("j1", int(time.time()) + 60)
    await r.revoke("j1", int(time.time()) + 60)  # twice: fine
    await r.revoke("j2", int(time.time()) - 1)
    assert await r.is_revoked("j1") and await r.is_revoked("j2") and not await r.is_revoked("j3")
    assert await r.purge() == 1  # the expired token's revocation is forgotten
    assert await r.is_revoked("j1") and not await r.is_revoked("j2")
