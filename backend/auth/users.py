"""Hooks of the ``users`` service: unique emails, hashed passwords, roles only admins change.

The password is hashed before it is stored and never leaves the server (stripped from every
result, and so from every event). A user edits only itself (the permission rules) and may not
change its own role; only admins pick roles. ``update`` without a password keeps the old one.
(:func:`backend.auth.setup_auth` announces changes to every process, which refreshes the user's
connections or, for a removed user, closes them.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, Forbidden
from ..hooks import HookContext
from ..query import IdIn, Query
from ..storage.base import new_id
from .passwords import MAX_PASSWORD
from .permissions import ADMIN
from .protect import hide, refuse_queries_on

if TYPE_CHECKING:
    from .authenticator import Authenticator

MIN_PASSWORD = 8
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}")
SECRET_FIELDS = ("password",)
_CLAIMED = "plume_claimed_emails"  # (email, user id) claimed by the before hook
_RELEASE = "plume_release_emails"  # (email, user id) to give back once the change succeeded


def normalize_email(value: Any) -> str:
    """A stripped, lowercased email; 400 when it is not one."""
    email = value.strip().lower() if isinstance(value, str) else ""
    if not EMAIL.fullmatch(email):
        raise BadRequest("Invalid email address", errors={"email": "invalid email"})
    return email


def _check_password(value: Any) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise BadRequest(f"The password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters",
                         errors={"password": "invalid length"})
    return value


def _is_admin(ctx: HookContext) -> bool:
    user = ctx.params.user
    return ctx.params.provider is None or bool(user and user.get("role") == ADMIN)


def user_hooks(auth: Authenticator) -> dict[str, Any]:
    """The hook spec of ``users``."""
    claims, passwords = auth.claims, auth.passwords
    roles = auth.policy.assignable_roles

    def check_role(role: Any) -> str:
        if role not in roles:
            raise BadRequest(f"Unknown role {role!r}; roles are {list(roles)}", errors={"role": "unknown role"})
        return str(role)

    async def prepare_new(ctx: HookContext) -> None:
        id_field = ctx.service.service.id_field
        claimed = ctx.params.extra.setdefault(_CLAIMED, [])
        for item in ctx.data if isinstance(ctx.data, list) else [ctx.data]:
            if not isinstance(item, dict):
                continue
            item["email"] = normalize_email(item.get("email"))
            if "password" not in item:
                raise BadRequest("A password is required", errors={"password": "required"})
            password = _check_password(item["password"])
            role = item.get("role", auth.settings.default_role)
            if role != auth.settings.default_role and not _is_admin(ctx):
                raise Forbidden("Only an admin may choose a user's role")
            item["role"] = check_role(role)
            item["password"] = await passwords.hash(password)
            user_id = str(item.setdefault(id_field, new_id()))
            await claims.claim(item["email"], user_id)
            claimed.append((item["email"], user_id))

    async def release_claims(ctx: HookContext) -> None:
        for email, user_id in ctx.params.extra.pop(_CLAIMED, []):
            await claims.release(email, user_id)

    async def prepare_change(ctx: HookContext) -> None:
        data = ctx.data
        if not isinstance(data, dict):
            return
        if "password" in data:
            data["password"] = await passwords.hash(_check_password(data["password"]))
        current = await _current(ctx) if ctx.id is not None else None
        if "role" in data and not _is_admin(ctx):
            if current is None or data["role"] != current.get("role"):
                raise Forbidden("Only an admin may change a user's role")
        if "role" in data:
            check_role(data["role"])
        if ctx.method == "update" and current is not None:
            data.setdefault("password", current.get("password"))  # a replace keeps the password...
            data.setdefault("role", current.get("role"))  # ...and the role
        if "email" in data:
            data["email"] = normalize_email(data["email"])
            if current is None:
                raise BadRequest("Emails change one user at a time")
            if data["email"] != current.get("email"):
                user_id = str(current[ctx.service.service.id_field])
                await claims.claim(data["email"], user_id)
                ctx.params.extra[_CLAIMED] = [(data["email"], user_id)]
                ctx.params.extra[_RELEASE] = [(current.get("email"), user_id)]

    async def after_change(ctx: HookContext) -> None:
        ctx.params.extra.pop(_CLAIMED, None)  # kept: the change succeeded
        for email, user_id in ctx.params.extra.pop(_RELEASE, []):
            if isinstance(email, str):
                await claims.release(email, user_id)
        if ctx.method == "remove":
            id_field = ctx.service.service.id_field
            for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
                if isinstance(doc, Mapping) and isinstance(doc.get("email"), str):
                    await claims.release(doc["email"], str(doc[id_field]))

    return {
        "before": {"all": [refuse_queries_on(SECRET_FIELDS)], "create": [prepare_new],
                   "update": [prepare_change], "patch": [prepare_change]},
        "after": {"all": [hide(SECRET_FIELDS)], "create": [after_change], "update": [after_change],
                  "patch": [after_change], "remove": [after_change]},
        "error": {"create": [release_claims], "update": [release_claims], "patch": [release_claims]},
    }


async def _current(ctx: HookContext) -> dict[str, Any] | None:
    """The stored user ``ctx.id`` names (with its hash), or None."""
    adapter = ctx.service.service
    found = await adapter._find(Query(where=IdIn((adapter.key(ctx.id),)), limit=1))
    return found[0] if found else None
