"""Authentication, users, API keys and permissions (off by default; ``[authentication] enabled``).

:func:`setup_auth` adds to an app:

* ``authentication``: ``create`` logs in (strategies ``local``, ``jwt``, ``api-key``) and answers
  ``{accessToken, authentication, user}``; over socket.io it logs the *connection* in. ``remove``
  logs out (the token is revoked).
* ``users`` (``schemas/users.json``) and ``api-keys``;
* app hooks that resolve the caller and enforce the ``[permissions]`` rules on every service;
* a publisher sending each event only to connections allowed to read its record.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..app import App
from ..config import ConfigError
from ..hooks import Params
from ..plugins import Plugin, use_stored
from ..query import Query
from .apikeys import API_KEY_HOOKS
from .apikeys import PREFIX as KEY_PREFIX
from .authenticator import Authenticator
from .authorize import AUTH_PATH, authorize_hooks
from .permissions import KEY_OWNER, load_policy
from .settings import AuthSettings, auth_settings
from .stores import EMAILS, REVOKED, EmailClaims, Revocations, internal_adapter
from .users import user_hooks

__all__ = ["AuthSettings", "Authenticator", "auth_settings", "plugin", "setup_auth"]
log = logging.getLogger(__name__)
PURGE_EVERY = 3600.0  # seconds between sweeps of expired token revocations


class AuthenticationService:
    """``/authentication``: log in (create) and out (remove)."""

    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    async def create(self, data: Any, params: Params) -> dict[str, Any]:
        result = await self.auth.login(data, params)
        if params.connection is not None:
            await self.auth.attach(params.connection, result)
        return result

    async def remove(self, id: Any, params: Params) -> dict[str, Any]:
        return await self.auth.logout(id, params)


async def setup_auth(app: App, settings: AuthSettings) -> Authenticator:
    """Register authentication on ``app`` (its storage must be open)."""
    policy = load_policy(app.settings.section("permissions"), signup_open=settings.signup == "open")
    if settings.default_role not in policy.assignable_roles:
        raise ConfigError(f"[authentication] default_role {settings.default_role!r} is not a role "
                          f"({', '.join(policy.assignable_roles)})")
    auth = app.extensions.add(Authenticator, Authenticator(app, settings, policy))
    users = await use_stored(app, "users", schema="users", indexes=["email"])
    if users.store.id_field != "_id":
        raise ConfigError("[services.users] id: the users service keeps the id field _id")
    keys = await use_stored(app, "api-keys", indexes=[KEY_OWNER])
    auth.users, auth.keys = users.store, keys.store
    auth.claims = EmailClaims(await internal_adapter(app, EMAILS), auth.users)
    auth.revocations = Revocations(await internal_adapter(app, REVOKED))

    users.options["owner_field"] = None  # a user is nobody's record
    keys.options["owner_field"] = KEY_OWNER
    users.hooks(user_hooks(auth))
    keys.hooks(API_KEY_HOOKS)
    keys.publish(auth.publisher(hidden=("key",)))
    for event in ("updated", "patched", "removed"):
        users.on(event, lambda record, ctx: app.signal({"type": "user", "id": str(record.get("_id"))}))
    keys.on("removed", lambda record, ctx: app.signal({"type": "api-key", "id": str(record.get("_id"))}))
    login = await app.use(AUTH_PATH, AuthenticationService(auth))
    login.publish(lambda record, ctx: [])  # tokens are never broadcast

    app.hooks({"before": [auth.authenticate]})
    app.hooks(authorize_hooks(policy))
    app.publish(auth.publisher())
    app.on_connection(auth.connected)
    app.on_disconnect(auth.disconnected)
    app.on_signal(auth.on_signal)
    app.creation_guard = auth.may_create_service
    app.auth_enabled = True
    app.owner_field = policy.owner_field
    _purge_revocations(app, auth)
    app.on_setup(lambda: _fix_key_prefixes(keys.store))
    return auth


async def _fix_key_prefixes(keys: Any) -> None:
    """Keys made before prefixes stopped showing three characters of the secret get the new one."""
    for key in await keys._find(Query()):
        prefix = f"{KEY_PREFIX}{key['_id']}_"
        if key.get("prefix") != prefix:
            await keys._patch([str(key["_id"])], {"prefix": prefix})


def _purge_revocations(app: App, auth: Authenticator) -> None:
    """Sweep expired revocations now and then (a revocation outlives its token by no more)."""
    task: asyncio.Task[None] | None = None

    async def sweep() -> None:
        while True:
            try:
                await auth.revocations.purge()
            except Exception:
                log.exception("could not purge expired token revocations")
            await asyncio.sleep(PURGE_EVERY)

    async def start() -> None:
        nonlocal task
        task = asyncio.ensure_future(sweep())

    async def stop() -> None:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)  # gone before the storage closes

    app.on_setup(start)
    app.on_teardown(stop)


async def _setup(app: App) -> None:
    settings = auth_settings(app.settings)
    if settings.enabled:
        await setup_auth(app, settings)


#: The built-in authentication plugin: off unless ``[authentication] enabled``.
plugin = Plugin("authentication", _setup, sections=("authentication", "permissions"))
