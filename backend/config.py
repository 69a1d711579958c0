"""Settings: defaults < TOML config file < ``PLUME_*`` environment < command-line flags.

Every value is validated when the server starts; a bad one stops it with a message naming the
setting and where it came from (:class:`ConfigError`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .resources import resource_dir
from .storage.base import AdapterOptions, Paginate

MB = 1024 * 1024
BUILTIN_SCHEMAS = resource_dir("schemas")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message says which and why."""


@dataclass
class Settings:
    """Validated server settings. Sections owned by plugins stay plain dicts they validate."""

    host: str = "127.0.0.1"
    port: int = 3030
    data_dir: Path = Path("./data")
    database: str = ""  # empty: sqlite:///<data_dir>/plume.sqlite3
    services: str | list[str] = "*"  # dynamic-service whitelist
    dynamic_services: str = "on"  # [services] dynamic: services made on first use "on" | "warn" | "off"
    max_body: int = 10 * MB
    max_response: int = 32 * MB  # bytes of records one client's find/multi patch/remove loads (README)
    max_pending: int = 32 * MB  # bytes of events waiting for one socket.io client (else disconnected)
    header_timeout: float = 10.0  # seconds from a connection's opening (later: a request's start) to headers' end
    body_timeout: float = 30.0  # seconds a request body may go without a byte (and its floor rate)
    max_connections: int = 0  # open connections at once; 0: from the process's file limit
    redis: str | None = None
    cors: list[str] = field(default_factory=lambda: ["*"])
    log_level: str = "INFO"
    schemas_dir: Path | None = None  # searched before the built-in schemas/
    service_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)  # plugins' tables: authentication...

    @property
    def schema_dirs(self) -> list[Path]:
        """Where ``schemas/<name>.json`` is looked up: the configured folder first, then Plume's own."""
        return [*([self.schemas_dir] if self.schemas_dir else []), BUILTIN_SCHEMAS]

    @property
    def database_url(self) -> str:
        return self.database or f"sqlite:///{(self.data_dir / 'plume.sqlite3').as_posix()}"

    def section(self, name: str) -> dict[str, Any]:
        """A plugin's own table of the config file (``[uploads]``, ``[authentication]``...)."""
        return self.sections.get(name, {})

    def adapter_options(self, name: str, schema: Mapping[str, Any] | None = None) -> AdapterOptions:
        """Storage options of service ``name`` (from ``[services.<name>]``, else defaults)."""
        return service_options(name, self.service_options.get(name, {}), schema)


_SCALARS: dict[str, type] = {"host": str, "port": int, "database": str, "max_body": int,
                             "redis": str, "log_level": str, "max_response": int, "max_pending": int,
                             "header_timeout": float, "body_timeout": float, "max_connections": int}
_POSITIVE = ("max_body", "max_response", "max_pending", "header_timeout", "body_timeout")
_PATHS = ("data_dir", "schemas_dir")
DYNAMIC_MODES = ("on", "warn", "off")
_ENV = {"host": "PLUME_HOST", "port": "PLUME_PORT", "database": "PLUME_DATABASE", "data_dir": "PLUME_DATA_DIR",
        "services": "PLUME_SERVICES", "max_body": "PLUME_MAX_BODY", "redis": "PLUME_REDIS",
        "log_level": "PLUME_LOG_LEVEL", "schemas_dir": "PLUME_SCHEMAS_DIR", "max_response": "PLUME_MAX_RESPONSE",
        "max_pending": "PLUME_MAX_PENDING", "header_timeout": "PLUME_HEADER_TIMEOUT",
        "body_timeout": "PLUME_BODY_TIMEOUT", "max_connections": "PLUME_MAX_CONNECTIONS",
        "dynamic_services": "PLUME_DYNAMIC_SERVICES"}
# Options of plugin tables that may come from the environment (secrets stay out of config files).
_SECTION_ENV = {"PLUME_AUTH_ENABLED": ("authentication", "enabled"), "PLUME_AUTH_SECRET": ("authentication", "secret"),
                "PLUME_AUTH_TRUST_FORWARDED_FOR": ("authentication", "trust_forwarded_for")}


def service_options(name: str, raw: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> AdapterOptions:
    """Validate one ``[services.<name>]`` table."""
    where = f"services.{name}"
    unknown = set(raw) - {"id", "paginate", "multi", "schema", "indexes"}
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {sorted(unknown)}")
    opts = AdapterOptions(schema=schema)
    if "id" in raw:
        if not isinstance(raw["id"], str) or not raw["id"] or raw["id"].startswith("$"):
            raise ConfigError(f"{where}.id must be a field name")
        opts.id = raw["id"]
    if "paginate" in raw:
        p = raw["paginate"]
        if p is False:
            opts.paginate = None
        elif isinstance(p, Mapping) and set(p) <= {"default", "max", "total"}:
            d, m = p.get("default", 100), p.get("max", max(1000, p.get("default", 100)))
            if not (isinstance(d, int) and isinstance(m, int) and 0 < d <= m):
                raise ConfigError(f"{where}.paginate needs integers 0 < default <= max")
            opts.paginate = Paginate(d, m, bool(p.get("total", True)))
        elif p is not True:
            raise ConfigError(f"{where}.paginate must be false or {{default, max, total}}")
    if "multi" in raw:
        m = raw["multi"]
        if isinstance(m, list) and set(m) <= {"create", "patch", "remove"}:
            opts.multi = list(m)
        elif isinstance(m, bool):
            opts.multi = m
        else:
            raise ConfigError(f"{where}.multi must be true, false or a list of create/patch/remove")
    if "indexes" in raw:
        if not isinstance(raw["indexes"], list):
            raise ConfigError(f"{where}.indexes must be a list")
        opts.indexes = list(raw["indexes"])
    return opts


def _convert(key: str, value: Any, origin: str) -> Any:
    try:
        if key in _PATHS:
            return Path(str(value))
        if key == "services":
            if value == "*" or isinstance(value, list):
                return value
            if isinstance(value, str):
                return [s.strip() for s in value.split(",") if s.strip()]
            raise ValueError("must be \"*\" or a list of service names")
        if key == "cors":
            return [value] if isinstance(value, str) else [str(v) for v in value]
        if key == "dynamic_services":
            mode = value
            if isinstance(value, bool) or value in ("true", "false"):  # TOML booleans, or their text
                mode = "on" if str(value).lower() == "true" else "off"
            if not isinstance(mode, str) or mode not in DYNAMIC_MODES:
                raise ValueError(f"must be \"on\", \"warn\" or \"off\", not {value!r}")
            return mode
        kind = _SCALARS[key]
        if kind in (int, float):
            if isinstance(value, bool) or (kind is int and isinstance(value, float)):
                raise ValueError(f"must be {'an integer' if kind is int else 'a number'}")
            out = kind(value)
            if key == "port" and not 0 <= out <= 65535:
                raise ValueError("must be a port number")
            if (key in _POSITIVE and not out > 0) or out < 0 or out != out:
                raise ValueError("must be positive")
            return out
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key} (from {origin}): {exc}") from None


def load_settings(
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build :class:`Settings` from the layers; raise :class:`ConfigError` on any bad value."""
    environ = os.environ if environ is None else environ
    settings = Settings()
    layers: list[tuple[str, Mapping[str, Any]]] = []
    config_file = config_file or environ.get("PLUME_CONFIG")
    if config_file:
        path = Path(config_file)
        try:
            layers.append((str(path), tomllib.loads(path.read_text())))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    env_layer: dict[str, Any] = {k: environ[v] for k, v in _ENV.items() if v in environ}
    for var, (table, key) in _SECTION_ENV.items():
        if var in environ:
            env_layer.setdefault(table, {})[key] = environ[var]
    layers.append(("environment", env_layer))
    layers.append(("command line", {k: v for k, v in (overrides or {}).items() if v is not None}))
    for origin, layer in layers:
        for key, value in layer.items():
            if key == "services" and isinstance(value, Mapping):
                _read_service_tables(settings, value, origin)
                continue
            if key in _SCALARS or key in _PATHS or key in ("services", "cors", "dynamic_services"):
                setattr(settings, key, _convert(key, value, origin))
            elif isinstance(value, Mapping):
                # A plugin's table ([authentication], [uploads]...): kept as it is, checked by the
                # plugin that reads it; one that no plugin reads stops the server (backend.plugins).
                settings.sections[key] = {**settings.sections.get(key, {}), **value}
            else:
                raise ConfigError(f"unknown setting '{key}' (from {origin})")
    for name, raw in settings.service_options.items():
        service_options(name, raw)  # validate now, fail at start
    return settings


def _read_service_tables(settings: Settings, tables: Mapping[str, Any], origin: str) -> None:
    """``[services.<name>]`` option tables; ``allow`` inside ``[services]`` is the whitelist and
    ``dynamic`` what happens to a service called before it exists (see :data:`DYNAMIC_MODES`).

    (TOML cannot hold both ``services = "*"`` and ``[services.x]`` tables, hence ``allow``.)
    """
    for name, opts in tables.items():
        if name == "allow":
            settings.services = _convert("services", opts, origin)
        elif name == "dynamic" and not isinstance(opts, Mapping):  # a table would be a service's options
            try:
                settings.dynamic_services = _convert("dynamic_services", opts, origin)
            except ConfigError as exc:
                raise ConfigError(str(exc).replace("dynamic_services", "services.dynamic", 1)) from None
        elif isinstance(opts, Mapping):
            settings.service_options[name] = {**settings.service_options.get(name, {}), **opts}
        else:
            raise ConfigError(f"services.{name} (from {origin}) must be a table of options")
