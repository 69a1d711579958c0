"""API keys for training scripts and CI: ``plume_<key id>_<secret>``, created, listed and revoked by
their owner through the ``api-keys`` service.

The secret is 256 random bits, shown once in the reply to ``create`` and stored only as its
SHA-256 digest (a slow password hash buys nothing against a secret that cannot be guessed, and
would cost every request). Removing the document revokes the key: requests and connections that
use it, or tokens exchanged for it, are refused from then on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..errors import BadRequest, MethodNotAllowed
from ..hooks import HookContext
from ..storage.base import new_id
from .permissions import KEY_OWNER as OWNER
from .protect import hide, refuse_queries_on

PREFIX = "plume_"
_KEY = re.compile(r"plume_([0-9a-f]{24})_([A-Za-z0-9_-]{43})")
ALLOWED_FIELDS = {"name", "expiresAt"}
SECRET_FIELDS = ("digest",)  # never leaves the server
_KEY_FIELD = "plume_api_key"  # where the before hook leaves the new key for the after hook


def digest(secret: str) -> str:
    """What is stored of a key's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(key: Any) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed key, else None."""
    m = _KEY.fullmatch(key) if isinstance(key, str) else None
    return (m.group(1), m.group(2)) if m else None


def key_matches(doc: Mapping[str, Any], secret: str) -> bool:
    """True when ``secret`` is the one ``doc`` was made for and the key has not expired."""
    stored = doc.get("digest")
    if not isinstance(stored, str) or not hmac.compare_digest(stored, digest(secret)):
        return False
    return not key_expired(doc)


def expires_at(doc: Mapping[str, Any]) -> float | None:
    """The UNIX time at which the key of ``doc`` expires, or None if it never does."""
    expires = doc.get("expiresAt")
    return _parse_time(expires).timestamp() if isinstance(expires, str) else None


def key_expired(doc: Mapping[str, Any]) -> bool:
    """True once the key of ``doc`` is past its ``expiresAt``."""
    at = expires_at(doc)
    return at is not None and at <= datetime.now(UTC).timestamp()


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("expiresAt must be an ISO-8601 date", errors={"expiresAt": "invalid date"}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def make_key(ctx: HookContext) -> None:
    """Before create: check the fields, mint the key, store its digest."""
    data = ctx.data
    if not isinstance(data, dict):
        raise BadRequest("Data must be an object")
    extra = set(data) - ALLOWED_FIELDS - {OWNER, "createdAt", "updatedAt"}
    if extra:
        raise BadRequest(f"Unknown API key field(s) {sorted(extra)}; allowed: name, expiresAt")
    name = data.get("name", "")
    if not isinstance(name, str) or len(name) > 200:
        raise BadRequest("name must be a string of at most 200 characters", errors={"name": "invalid"})
    if "expiresAt" in data:
        if not isinstance(data["expiresAt"], str) or _parse_time(data["expiresAt"]) <= datetime.now(UTC):
            raise BadRequest("expiresAt must be a future ISO-8601 date", errors={"expiresAt": "invalid"})
    key_id, secret = new_id(), secrets.token_urlsafe(32)
    key = f"{PREFIX}{key_id}_{secret}"
    # The prefix identifies the key in listings; it holds none of the secret.
    data.update({"_id": key_id, "name": name, "digest": digest(secret), "prefix": f"{PREFIX}{key_id}_"})
    ctx.params.extra[_KEY_FIELD] = key


async def reveal_key(ctx: HookContext) -> None:
    """After create: the reply (only) carries the key, once."""
    key = ctx.params.extra.pop(_KEY_FIELD, None)
    if key is not None and isinstance(ctx.result, dict):
        ctx.result = {**ctx.result, "key": key}


async def only_rename(ctx: HookContext) -> None:
    """Before update/patch: a key is immutable but for its name."""
    if ctx.method == "update":
        raise MethodNotAllowed("An API key cannot be replaced; create a new one and remove the old")
    if isinstance(ctx.data, dict) and set(ctx.data) - {"name", "updatedAt"}:
        raise BadRequest("Only the name of an API key can change")


API_KEY_HOOKS: dict[str, Any] = {
    "before": {"all": [refuse_queries_on(SECRET_FIELDS)], "create": [make_key], "update": [only_rename],
               "patch": [only_rename]},
    "after": {"all": [hide(SECRET_FIELDS)], "create": [reveal_key]},
}
