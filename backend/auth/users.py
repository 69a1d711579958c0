"""Hooks of the ``users`` service: unique emails, hashed passwords, roles only admins change.

The password is hashed before it is stored and never leaves the server (stripped from every
result, and so from every event). A user edits only itself (the permission rules) and may not
change its own role, nor any attribute a rule refers to (``"$user.team"``, say: else a user could
read what a team's rules allow by joining it); only admins set those, and only admins choose a
user's id (an id is an identity: records, tokens and keys name it). ``update`` without a password
keeps the old one. Removing a user removes its API keys.
(:func:`backend.auth.setup_auth` announces changes to every process, which refreshes the user's
connections or, for a removed user, closes them.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, Forbidden, NotFound
from ..hooks import HookContext
from ..query import Cmp, Query
from ..storage.base import new_id
from .authorize import is_admin
from .passwords import MAX_PASSWORD
from .permissions import KEY_OWNER
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


def user_hooks(auth: Authenticator) -> dict[str, Any]:
    """The hook spec of ``users``."""
    claims, passwords = auth.claims, auth.passwords
    roles = auth.policy.assignable_roles
    # Attributes only admins set: the role, and those the rules bind (a user's id never changes).
    guarded = ("role", *sorted(auth.policy.bound_attributes - {"role", "_id"}))

    def check_role(role: Any) -> str:
        if role not in roles:
            raise BadRequest(f"Unknown role {role!r}; roles are {list(roles)}", errors={"role": "unknown role"})
        return str(role)

    async def prepare_new(ctx: HookContext) -> None:
        id_field = ctx.service.store.id_field
        admin = is_admin(ctx.params)
        claimed = ctx.params.extra.setdefault(_CLAIMED, [])
        for item in ctx.data if isinstance(ctx.data, list) else [ctx.data]:
            if not isinstance(item, dict):
                continue
            item["email"] = normalize_email(item.get("email"))
            if "password" not in item:
                raise BadRequest("A password is required", errors={"password": "required"})
            password = _check_password(item["password"])
            role = item.get("role", auth.settings.default_role)
            if not admin:
                if role != auth.settings.default_role:
                    raise Forbidden("Only an admin may choose a user's role")
                chosen = [f for f in (id_field, *guarded[1:]) if f in item]
                if chosen:
                    raise Forbidden(f"Only an admin may set a user's {', '.join(chosen)}")
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
        adapter = ctx.service.store
        current = await adapter._get_key(adapter.key(ctx.id)) if ctx.id is not None else None
        if ctx.id is not None and current is None:
            raise NotFound(f"No record found for id '{ctx.id}'")
        if not is_admin(ctx.params):
            if ctx.method == "update" and current is not None:
                for field in guarded:  # a replace keeps what only admins set
                    if field in current:
                        data.setdefault(field, current[field])
            changed = [f for f in guarded if f in data and (current is None or data[f] != current.get(f))]
            if changed:
                raise Forbidden(f"Only an admin may change a user's {', '.join(changed)}")
        if "role" in data:
            check_role(data["role"])
        if ctx.method == "update" and current is not None:
            data.setdefault("password", current.get("password"))  # a replace keeps the password...
            data.setdefault("role", current.get("role"))  # ...and the role
        if "password" in data and data["password"] != (current or {}).get("password"):
            data["password"] = await passwords.hash(_check_password(data["password"]))  # slow: checks first
        if "email" in data:
            data["email"] = normalize_email(data["email"])
            if current is None:
                raise BadRequest("Emails change one user at a time")
            if data["email"] != current.get("email"):
                user_id = str(current[ctx.service.store.id_field])
                await claims.claim(data["email"], user_id)
                ctx.params.extra[_CLAIMED] = [(data["email"], user_id)]
                ctx.params.extra[_RELEASE] = [(current.get("email"), user_id)]

    async def after_change(ctx: HookContext) -> None:
        ctx.params.extra.pop(_CLAIMED, None)  # kept: the change succeeded
        for email, user_id in ctx.params.extra.pop(_RELEASE, []):
            if isinstance(email, str):
                await claims.release(email, user_id)
        if ctx.method == "remove":
            id_field = ctx.service.store.id_field
            for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
                if not isinstance(doc, Mapping):
                    continue
                if isinstance(doc.get("email"), str):
                    await claims.release(doc["email"], str(doc[id_field]))
                await _remove_keys(auth, str(doc[id_field]))

    return {
        "before": {"all": [refuse_queries_on(SECRET_FIELDS)], "create": [prepare_new],
                   "update": [prepare_change], "patch": [prepare_change]},
        "after": {"all": [hide(SECRET_FIELDS)], "create": [after_change], "update": [after_change],
                  "patch": [after_change], "remove": [after_change]},
        "error": {"create": [release_claims], "update": [release_claims], "patch": [release_claims]},
    }


async def _remove_keys(auth: Authenticator, user_id: str) -> None:
    """A removed user's API keys go with it (each removal revokes the key everywhere)."""
    keys = auth.app.service("api-keys")
    for key in await auth.keys._find(Query(where=Cmp((KEY_OWNER,), "$eq", user_id))):
        await keys.remove(key[auth.keys.id_field])
