"""Who is calling: the strategies (local, JWT, API key), credentials on requests, and the logins of
real-time connections.

A REST call authenticates with ``Authorization: Bearer <access token | API key>``; a socket.io
connection authenticates once (``create`` on ``authentication``) and later calls carry its user.
Every check reads the store: a deleted user, a revoked token or key, or a changed role takes
effect at once. Connections follow through :meth:`App.signal`: each process closes, or moves to
the right channels, the connections of a user, token or key that changed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from ..app import App
from ..channels import Channel, Connection, Publisher
from ..errors import BadRequest, NotAuthenticated, NotFound
from ..hooks import HookContext, Params
from ..query import Cmp, Query
from ..storage.base import StorageAdapter
from .apikeys import OWNER, PREFIX, expires_at, key_expired, key_matches, parse_key
from .authorize import AUTH_PATH, FULL_RECORDS, caller_role
from .passwords import Passwords
from .permissions import ANONYMOUS, Policy
from .protect import without
from .settings import AuthSettings
from .stores import EmailClaims, Revocations
from .throttle import LoginThrottle
from .tokens import Tokens
from .users import SECRET_FIELDS

log = logging.getLogger(__name__)
Identity = tuple[dict[str, Any], dict[str, Any]]  # (user as clients see it, authentication info)
_TIMER = "auth_timer"


class Authenticator:
    """The authentication state of one app: strategies, stores and connection logins."""

    def __init__(self, app: App, settings: AuthSettings, policy: Policy) -> None:
        self.app = app
        self.settings = settings
        self.policy = policy
        self.tokens = Tokens(settings.secret, settings.token_lifetime, settings.audience, settings.issuer)
        self.passwords = Passwords()
        self.throttle = LoginThrottle(settings.throttle.max_failures, settings.throttle.window)
        self.users: StorageAdapter
        self.keys: StorageAdapter
        self.claims: EmailClaims
        self.revocations: Revocations
        self._closing: set[asyncio.Task[None]] = set()  # expired logins being closed (kept from the GC)

    # ------------------------------------------------------------------ identities
    async def user(self, user_id: str) -> dict[str, Any] | None:
        """The user as clients see it (no password), or None."""
        doc = await self.users._get_key(user_id)
        return without(doc, SECRET_FIELDS) if doc else None

    def client_ip(self, params: Params) -> str:
        headers = params.headers or (params.connection.data.get("headers", {}) if params.connection else {})
        if self.settings.trust_forwarded_for:
            forwarded = next((v for k, v in headers.items() if k.lower() == "x-forwarded-for"), "")
            if forwarded.strip():
                return forwarded.split(",")[-1].strip()  # the address our proxy saw
        return str(params.extra.get("ip") or "unknown")

    def _result(self, strategy: str, user: dict[str, Any], token: str, payload: dict[str, Any],
                **auth: Any) -> dict[str, Any]:
        return {"accessToken": token, "authentication": {"strategy": strategy, **auth, "payload": payload},
                "user": user}

    # ------------------------------------------------------------------ strategies
    async def login(self, data: Any, params: Params) -> dict[str, Any]:
        """``create`` on ``authentication``: run the named strategy; the Feathers result shape."""
        if not isinstance(data, dict):
            raise BadRequest("Authentication data must be an object")
        strategy = data.get("strategy")
        if strategy == "local":
            return await self._local(data, params)
        if strategy == "jwt":
            user, auth = await self.verify_token(data.get("accessToken"))
            return self._result("jwt", user, auth["accessToken"], auth["payload"], accessToken=auth["accessToken"])
        if strategy == "api-key":
            user, auth = await self.verify_api_key(data.get("apiKey"))
            # The token ends when the key does: exchanging a key must not extend it.
            token, payload = self.tokens.issue(str(user["_id"]), key_id=auth["keyId"],
                                               not_after=auth.get("expiresAt"))
            return self._result("api-key", user, token, payload)
        raise NotAuthenticated(f"Invalid authentication strategy {str(strategy)[:50]!r} (local, jwt or api-key)")

    async def _local(self, data: Mapping[str, Any], params: Params) -> dict[str, Any]:
        email, password = data.get("email"), data.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise NotAuthenticated("Invalid login")
        email = email.strip().lower()[:256]
        ip = self.client_ip(params)
        # 429 while the address, or the address and email together, are over the limit; the email
        # alone only slows down (anyone could lock its owner out). Attempts in flight count.
        with self.throttle.attempt(f"ip:{ip}", f"pair:{ip}|{email}", slow=f"email:{email}") as attempt:
            if attempt.delay:
                await asyncio.sleep(attempt.delay)
            found = await self.users._find(Query(where=Cmp(("email",), "$eq", email), limit=1))
            doc = found[0] if found else None
            if not await self.passwords.verify(doc.get("password") if doc else None, password):
                raise NotAuthenticated("Invalid login")
            attempt.succeeded()
        assert doc is not None
        user_id = str(doc[self.users.id_field])
        if self.passwords.needs_rehash(str(doc.get("password"))):
            await self.users._patch([user_id], {"password": await self.passwords.hash(password)})
        token, payload = self.tokens.issue(user_id)
        return self._result("local", without(doc, SECRET_FIELDS), token, payload)

    # ------------------------------------------------------------------ credentials
    async def verify_token(self, token: Any) -> Identity:
        """The user and authentication of an access token that is valid, unrevoked, and (if it was
        exchanged for an API key) whose key still stands; else NotAuthenticated (401)."""
        payload = self.tokens.verify(token)
        if await self.revocations.is_revoked(str(payload["jti"])):
            raise NotAuthenticated("Access token has been revoked")
        kid = payload.get("kid")
        if kid is not None:
            key = await self.keys._get_key(str(kid))
            if key is None or key.get(OWNER) != payload["sub"] or key_expired(key):
                raise NotAuthenticated("The API key of this token has been revoked or has expired")
        user = await self.user(payload["sub"])
        if user is None:
            raise NotAuthenticated("User not found")
        return user, {"strategy": "jwt", "accessToken": token, "payload": payload}

    async def verify_api_key(self, key: Any) -> Identity:
        """The user and authentication of a valid, unexpired API key; else NotAuthenticated (401)."""
        parsed = parse_key(key)
        doc = await self.keys._get_key(parsed[0]) if parsed else None
        if parsed is None or doc is None or not key_matches(doc, parsed[1]):
            raise NotAuthenticated("Invalid API key")
        user = await self.user(str(doc.get(OWNER)))
        if user is None:
            raise NotAuthenticated("User not found")
        return user, {"strategy": "api-key", "keyId": parsed[0], "expiresAt": expires_at(doc)}

    async def verify_header(self, value: str) -> Identity:
        """``Authorization: Bearer <token or key>`` (a bare token is accepted, as by Feathers)."""
        scheme, _, credential = value.strip().partition(" ")
        if not credential:
            scheme, credential = "Bearer", scheme
        if scheme.lower() != "bearer":
            raise NotAuthenticated("Invalid authorization header (use Bearer)")
        credential = credential.strip()
        if credential.startswith(PREFIX):
            return await self.verify_api_key(credential)
        return await self.verify_token(credential)

    async def authenticate(self, ctx: HookContext) -> None:
        """App before hook: the caller of a REST request, from its Authorization header."""
        p = ctx.params
        if p.provider is None or p.connection is not None:
            return  # internal, or a socket (the transport passes the connection's login)
        if ctx.path == AUTH_PATH and ctx.method == "create":
            return  # logging in: credentials are in the body
        if p.user is None and (header := _authorization(p.headers)):  # not already known (creation guard)
            p.user, p.authentication = await self.verify_header(header)

    async def may_create_service(self, path: str, params: Params) -> None:
        """``App.creation_guard``: only signed-in callers make dynamic services appear (else any
        anonymous request could add tables). An anonymous caller is told to log in (401), or,
        when its rules would let it read there, that the service does not exist (404)."""
        if params.user is None and params.connection is None and (header := _authorization(params.headers)):
            # The REST caller's identity, kept for the authenticate hook of the call that follows.
            params.user, params.authentication = await self.verify_header(header)
        if params.user is None:
            if self.policy.decide(ANONYMOUS, None, path, "find").allowed:
                raise NotFound(f"Service '{path}' not found")
            raise NotAuthenticated("Not authenticated")

    async def logout(self, id: Any, params: Params) -> dict[str, Any]:
        """``remove`` on ``authentication``: revoke the caller's token, end a connection's login."""
        auth = params.authentication
        if not auth:
            raise NotAuthenticated("Not authenticated")
        token = auth.get("accessToken")
        if id is not None and id != token:
            raise NotAuthenticated("Invalid access token")
        if params.connection is not None:
            await self.detach(params.connection)
        payload = auth.get("payload") or {}
        if payload.get("jti"):
            await self.revocations.revoke(str(payload["jti"]), int(payload.get("exp", time.time())))
            await self.app.signal({"type": "token", "jti": payload["jti"]})
        return {"accessToken": token, "authentication": auth, "user": params.user}

    # ------------------------------------------------------------------ connections
    async def attach(self, conn: Connection, result: Mapping[str, Any]) -> None:
        """Log a connection in: its later calls carry the user; it joins the user's channels.
        A connection that closed while its login ran is left alone (it has no channels to join)."""
        if conn.id not in self.app.connections:
            return
        self._cancel_timer(conn)
        user, auth = result["user"], dict(result["authentication"])
        auth.setdefault("accessToken", result["accessToken"])
        conn.data.update(user=user, authentication=auth)
        await self._channels(conn, user)
        delay = float(auth["payload"]["exp"]) - time.time()
        conn.data[_TIMER] = asyncio.get_running_loop().call_later(max(0.0, delay), self._expire, conn)

    def _expire(self, conn: Connection) -> None:
        """The login's token expired: close the connection (in a task kept until it is done)."""
        task = asyncio.ensure_future(self._close(conn))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def detach(self, conn: Connection) -> None:
        """Log a connection out: back to the anonymous channels."""
        self._cancel_timer(conn)
        conn.data.pop("user", None)
        conn.data.pop("authentication", None)
        await self._channels(conn, None)

    async def _channels(self, conn: Connection, user: Mapping[str, Any] | None) -> None:
        names = self.policy.user_channels(caller_role(user) if user else ANONYMOUS, user)
        await conn.leave(*[c for c in conn.channels if c not in names])
        await conn.join(*names)

    def _cancel_timer(self, conn: Connection) -> None:
        timer = conn.data.pop(_TIMER, None)
        if timer is not None:
            timer.cancel()

    async def _close(self, conn: Connection) -> None:
        """An expired or revoked login: the connection is closed (the client reconnects anonymous)."""
        await self.detach(conn)
        await conn.disconnect()

    async def connected(self, conn: Connection) -> None:
        """A new connection starts anonymous."""
        await self._channels(conn, None)

    async def disconnected(self, conn: Connection) -> None:
        """A closed connection's expiry timer goes with it."""
        self._cancel_timer(conn)

    async def on_signal(self, message: Mapping[str, Any]) -> None:
        """A user, token or key changed (in any process): update this process's connections."""
        kind, value = message.get("type"), message.get("id") or message.get("jti")
        for conn in list(self.app.connections.values()):
            auth, user = conn.data.get("authentication"), conn.data.get("user")
            if not auth or not user:
                continue
            payload = auth.get("payload") or {}
            if (kind == "token" and payload.get("jti") == value) or (
                    kind == "api-key" and value in (payload.get("kid"), auth.get("keyId"))):
                await self._close(conn)
            elif kind == "user" and str(user.get(self.users.id_field)) == value:
                fresh = await self.user(str(value))
                if fresh is None:
                    await self._close(conn)
                else:
                    conn.data["user"] = fresh
                    await self._channels(conn, fresh)

    # ------------------------------------------------------------------ events
    def publisher(self, hidden: tuple[str, ...] = ()) -> Publisher:
        """Publish each record to the channels of those who may read it (``hidden`` fields removed)."""

        def publish(record: Any, ctx: HookContext) -> list[Any]:
            if not isinstance(record, dict):
                return []
            id_field = ctx.service.adapter.id_field if ctx.service.adapter is not None else "_id"
            full = ctx.params.extra.get(FULL_RECORDS, {}).get(str(record.get(id_field)), record)
            names = self.policy.record_channels(ctx.path, full, id_field)
            if not hidden:
                return names
            data = without(record, hidden)
            return [Channel(n, data) for n in names]

        return publish


def _authorization(headers: Mapping[str, str]) -> str | None:
    """The request's ``Authorization`` header (any case), if it has one."""
    return next((v for k, v in headers.items() if k.lower() == "authorization"), None)
