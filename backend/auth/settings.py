"""``[authentication]``: whether auth is on, the token secret and lifetime, signup, throttling.

Validated at start: auth on without a secret (or with a short one) stops the server with a
message, as does any unknown or mistyped option.

```toml
[authentication]
enabled = true
secret = "…at least 32 characters…"   # or PLUME_AUTH_SECRET
token_lifetime = 86400                # seconds an access token lives
signup = "closed"                     # "open": anyone may create a user (with default_role)
default_role = "editor"
trust_forwarded_for = false           # behind a proxy: read the client address from X-Forwarded-For
public_assets = false                 # true: asset files download without credentials (as Marcelle)
throttle = { max_failures = 5, window = 300 }   # failed logins per address / per email → 429
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import ConfigError, Settings

MIN_SECRET = 32
_KEYS = {"enabled", "secret", "token_lifetime", "signup", "default_role", "trust_forwarded_for",
         "public_assets", "throttle", "audience", "issuer"}


@dataclass(frozen=True)
class Throttle:
    """At most ``max_failures`` failed logins per client address, and per email, in ``window`` s."""

    max_failures: int = 5
    window: float = 300.0


@dataclass(frozen=True)
class AuthSettings:
    """The ``[authentication]`` table, checked (see :func:`auth_settings`)."""

    enabled: bool = False
    secret: str = ""
    token_lifetime: int = 86400
    signup: str = "closed"
    default_role: str = "editor"
    trust_forwarded_for: bool = False
    public_assets: bool = False
    audience: str = "plume"
    issuer: str = "plume"
    throttle: Throttle = field(default_factory=Throttle)


def _bool(table: Mapping[str, Any], key: str, default: bool) -> bool:
    value = table.get(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")  # from the environment
    if not isinstance(value, bool):
        raise ConfigError(f"[authentication] {key} must be true or false, got {value!r}")
    return value


def _positive(table: Mapping[str, Any], key: str, default: float, where: str = "authentication") -> Any:
    value = table.get(key, default)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"[{where}] {key} must be a positive number, got {value!r}")
    return value


def _text(table: Mapping[str, Any], key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"[authentication] {key} must be a non-empty string, got {value!r}")
    return value


def auth_settings(settings: Settings) -> AuthSettings:
    """Read and check ``[authentication]`` (ConfigError naming the bad option)."""
    table = settings.section("authentication")
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"[authentication]: unknown option(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    enabled = _bool(table, "enabled", False)
    secret = table.get("secret", "")
    if not isinstance(secret, str):
        raise ConfigError("[authentication] secret must be a string")
    if enabled and len(secret) < MIN_SECRET:
        raise ConfigError(f"[authentication] is enabled but secret is {'missing' if not secret else 'too short'}: "
                          f"set a random secret of at least {MIN_SECRET} characters (or PLUME_AUTH_SECRET)")
    signup = table.get("signup", "closed")
    if signup not in ("open", "closed"):
        raise ConfigError(f"[authentication] signup must be \"open\" or \"closed\", got {signup!r}")
    raw_throttle = table.get("throttle", {})
    if not isinstance(raw_throttle, Mapping) or set(raw_throttle) - {"max_failures", "window"}:
        raise ConfigError("[authentication] throttle must be { max_failures = N, window = seconds }")
    max_failures = _positive(raw_throttle, "max_failures", 5, "authentication.throttle")
    if not isinstance(max_failures, int):
        raise ConfigError("[authentication.throttle] max_failures must be an integer")
    lifetime = _positive(table, "token_lifetime", 86400)
    if not isinstance(lifetime, int):
        raise ConfigError("[authentication] token_lifetime must be a whole number of seconds")
    return AuthSettings(
        enabled=enabled,
        secret=secret,
        token_lifetime=lifetime,
        signup=signup,
        default_role=_text(table, "default_role", "editor"),
        trust_forwarded_for=_bool(table, "trust_forwarded_for", False),
        public_assets=_bool(table, "public_assets", False),
        audience=_text(table, "audience", "plume"),
        issuer=_text(table, "issuer", "plume"),
        throttle=Throttle(max_failures, float(_positive(raw_throttle, "window", 300, "authentication.throttle"))),
    )
