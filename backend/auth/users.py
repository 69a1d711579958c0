"""Hooks of the ``users`` service: unique emails, hashed passwords, roles only admins change.

The password is hashed before it is stored and never leaves the server (stripped from every
result, and so from every event). A user edits only itself (the permission rules) and may not
change its own role, nor any attribute a rule refers to (``"$user.team"``, say: else a user could
read what a team's rules allow by joining it); only admins set those, and only admins choose a
user's id (an id is an identity: records, tokens and keys name it). ``update`` without a password
keeps the old one. Removing a user removes its API keys.

Every user has a unique ``username`` (``[a-z0-9][a-z0-9._-]*``, at most 64 characters; not
``anonymous``, which names callers without a login): the space ``/<username>/`` of its tracking
folders. Without one, a new user gets its email's local part (made valid, with ``-2``, ``-3``...
when taken); like ``role``, only admins choose or change it.
(:func:`backend.auth.setup_auth` announces changes to every process, which refreshes the user's
connections or, for a removed user, closes them.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..hooks import HookContext
from ..query import Cmp, Query
from ..storage.base import new_id
from .authorize import is_admin
from .passwords import MAX_PASSWORD
from .permissions import ANONYMOUS, KEY_OWNER
from .protect import hide, refuse_queries_on
from .stores import USERNAMES, Claims, internal_adapter

if TYPE_CHECKING:
    from .authenticator import Authenticator

MIN_PASSWORD = 8
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}")
SECRET_FIELDS = ("password",)
_CLAIMED = "plume_claimed_emails"  # (email, user id) claimed by the before hook
_RELEASE = "plume_release_emails"  # (email, user id) to give back once the change succeeded
_CLAIMED_NAMES = "plume_claimed_usernames"  # the same for usernames
_RELEASE_NAMES = "plume_release_usernames"
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
RESERVED_USERNAMES = frozenset({ANONYMOUS})


def normalize_email(value: Any) -> str:
    """A stripped, lowercased email; 400 when it is not one."""
    email = value.strip().lower() if isinstance(value, str) else ""
    if not EMAIL.fullmatch(email):
        raise BadRequest("Invalid email address", errors={"email": "invalid email"})
    return email


def check_username(value: Any) -> str:
    """``value`` if it is a valid username, else 400."""
    if not isinstance(value, str) or not USERNAME.fullmatch(value) or value in RESERVED_USERNAMES:
        raise BadRequest("A username is 1 to 64 characters a-z, 0-9, '.', '_' or '-' (starting with a letter or "
                         "digit), and not 'anonymous'", errors={"username": "invalid username"})
    return value


def username_base(email: str) -> str:
    """A valid username made from an email's local part (``Ann.Lee+x@...`` → ``ann.lee-x``)."""
    base = re.sub(r"[^a-z0-9._-]", "-", email.split("@", 1)[0].lower()).lstrip("._-")[:56] or "user"
    return base if base not in RESERVED_USERNAMES else f"{base}-user"


async def claim_free_username(claims: Claims, base: str, user_id: str) -> str:
    """Claim ``base``, else ``base-2``, ``base-3``...; returns the username claimed."""
    for n in range(1, 10_000):
        candidate = base if n == 1 else f"{base}-{n}"
        try:
            await claims.claim(candidate, user_id)
            return candidate
        except Conflict:
            continue
    raise Conflict(f"No free username like {base!r}")


def _check_password(value: Any) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise BadRequest(f"The password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters",
                         errors={"password": "invalid length"})
    return value


def user_hooks(auth: Authenticator) -> dict[str, Any]:
    """The hook spec of ``users``."""
    claims, passwords = auth.claims, auth.passwords
    roles = auth.policy.assignable_roles
    # Attributes only admins set: the role, the username, and those the rules bind (a user's id
    # never changes).
    guarded = ("role", *sorted(auth.policy.bound_attributes - {"role", "_id"} | {"username"}))
    found: list[Claims] = []

    async def usernames() -> Claims:
        """The username claims (their table is opened on first use)."""
        if not found:
            adapter = await internal_adapter(auth.app, USERNAMES)
            if not found:
                found.append(Claims(adapter, auth.users, field="username"))
        return found[0]

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
            names = await usernames()
            if "username" in item:
                await names.claim(check_username(item["username"]), user_id)
            else:
                item["username"] = await claim_free_username(names, username_base(item["email"]), user_id)
            ctx.params.extra.setdefault(_CLAIMED_NAMES, []).append((item["username"], user_id))

    async def release_claims(ctx: HookContext) -> None:
        for email, user_id in ctx.params.extra.pop(_CLAIMED, []):
            await claims.release(email, user_id)
        for name, user_id in ctx.params.extra.pop(_CLAIMED_NAMES, []):
            await (await usernames()).release(name, user_id)

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
            data.setdefault("role", current.get("role"))  # ...the role...
            if current.get("username") is not None:
                data.setdefault("username", current.get("username"))  # ...and the username
        if "username" in data and current is not None and data["username"] != current.get("username"):
            user_id = str(current[ctx.service.store.id_field])
            await (await usernames()).claim(check_username(data["username"]), user_id)
            ctx.params.extra[_CLAIMED_NAMES] = [(data["username"], user_id)]
            ctx.params.extra[_RELEASE_NAMES] = [(current.get("username"), user_id)]
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
        ctx.params.extra.pop(_CLAIMED_NAMES, None)
        for email, user_id in ctx.params.extra.pop(_RELEASE, []):
            if isinstance(email, str):
                await claims.release(email, user_id)
        for name, user_id in ctx.params.extra.pop(_RELEASE_NAMES, []):
            if isinstance(name, str):
                await (await usernames()).release(name, user_id)
        if ctx.method == "remove":
            id_field = ctx.service.store.id_field
            for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
                if not isinstance(doc, Mapping):
                    continue
                if isinstance(doc.get("email"), str):
                    await claims.release(doc["email"], str(doc[id_field]))
                if isinstance(doc.get("username"), str):
                    await (await usernames()).release(doc["username"], str(doc[id_field]))
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


async def backfill_usernames(users: Any, claims: Claims) -> int:
    """Give users made before usernames existed their username; returns how many got one."""
    done = 0
    for user in await users._find(Query()):
        if isinstance(user.get("username"), str) or not isinstance(user.get("email"), str):
            continue
        user_id = str(user[users.id_field])
        name = await claim_free_username(claims, username_base(user["email"]), user_id)
        await users._patch([user_id], {"username": name})
        done += 1
    return done
