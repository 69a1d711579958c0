"""Access tokens: HS256 JWTs issued and checked with PyJWT.

Claims: ``sub`` (user id), ``iat``, ``exp``, ``aud``, ``iss`` and a random ``jti`` (what logout
revokes); ``kid`` names the API key a token was exchanged for, so revoking the key ends the token.
Only HS256 with this server's secret verifies: ``alg: none``, other algorithms and foreign keys are
401, as are expired, malformed and oversized tokens.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from ..errors import NotAuthenticated

ALGORITHM = "HS256"
MAX_TOKEN = 4096  # characters; a real token is ~250
# Tokens whose signature and claims already checked out: decoding costs more than the rest of a
# request's authentication. Only the expiry can change, and it is checked on every use; whether
# the token or its user still stand (revocation, removal) is read from the store every time.
CACHE_SIZE = 4096


class Tokens:
    """Issues and verifies this server's access tokens."""

    def __init__(self, secret: str, lifetime: int, audience: str = "plume", issuer: str = "plume") -> None:
        self._secret = secret
        self.lifetime = lifetime
        self.audience = audience
        self.issuer = issuer
        self._verified: dict[str, dict[str, Any]] = {}

    def issue(self, user_id: str, *, key_id: str | None = None,
              not_after: float | None = None) -> tuple[str, dict[str, Any]]:
        """A new token for ``user_id`` and its payload; it expires after the lifetime, or at
        ``not_after`` (a UNIX time: the expiry of the API key it is exchanged for) if sooner."""
        now = int(time.time())
        exp = now + self.lifetime if not_after is None else min(now + self.lifetime, int(not_after))
        payload: dict[str, Any] = {"sub": user_id, "iat": now, "exp": exp, "aud": self.audience,
                                   "iss": self.issuer, "jti": uuid.uuid4().hex}
        if key_id is not None:
            payload["kid"] = key_id
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM, headers={"typ": "access"}), payload

    def verify(self, token: Any) -> dict[str, Any]:
        """The payload of a valid token; NotAuthenticated (401) for anything else."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
            raise NotAuthenticated("Invalid access token")
        payload = self._verified.get(token)
        if payload is None:
            payload = self._decode(token)
            if len(self._verified) >= CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = payload
        if payload["exp"] <= time.time():
            raise NotAuthenticated("jwt expired", data={"name": "TokenExpiredError"})
        return dict(payload)

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            payload = jwt.decode(token, self._secret, algorithms=[ALGORITHM], audience=self.audience,
                                 issuer=self.issuer, options={"require": ["exp", "iat", "sub", "jti"]})
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("jwt expired", data={"name": "TokenExpiredError"}) from None
        except jwt.PyJWTError:
            raise NotAuthenticated("Invalid access token") from None
        if header.get("typ") != "access" or not isinstance(payload.get("sub"), str) or \
                not isinstance(payload.get("exp"), (int, float)):
            raise NotAuthenticated("Invalid access token")
        return payload
