"""Roles and rules: who may do what on which service, expressed as query conditions.

In the spirit of CASL (which Marcelle uses), a role holds *allow* rules; a rule names actions and,
optionally, the records it covers as a query in Plume's own grammar. ``"$user.<attr>"`` as a
top-level value stands for the caller's attribute::

    [permissions.roles]
    editor = [
      { actions = ["read"], where = { public = true } },
      { actions = ["manage"], where = { userId = "$user._id" } },
    ]
    [permissions.services.assets]          # per-service override of a role's rules
    anonymous = [{ actions = ["read"] }]

Actions: ``find get create update patch remove`` and the aliases ``read`` (find, get), ``write``
(create, update, patch, remove), ``delete`` (remove) and ``manage`` (all). Because a rule is a
query, the storage adapter filters and counts ``find`` results itself, and the same rule decides
which connections hear about a record (:meth:`Policy.record_channels`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import ConfigError
from ..errors import BadRequest
from ..query import FILTERS, And, Cmp, Cond, Or, parse, split_path
from ..storage.matcher import MISSING, get_path, matches

ACTIONS = ("find", "get", "create", "update", "patch", "remove")
ALIASES: dict[str, tuple[str, ...]] = {"read": ("find", "get"), "write": ("create", "update", "patch", "remove"),
                                       "delete": ("remove",), "manage": ACTIONS}
# Custom methods are checked as the action they amount to (the services check the documents).
METHOD_ACTIONS = {"upload": "create", "download": "get"}
ADMIN, ANONYMOUS = "admin", "anonymous"
USER_REF = "$user."
KEY_OWNER = "userId"  # the owner field of API keys, whatever owner_field says for other services

def default_roles(owner: str) -> dict[str, list[dict[str, Any]]]:
    """The built-in roles: admins manage everything; editors read public records and manage their
    own; viewers read public records and their own; anonymous callers nothing."""
    return {
        ADMIN: [{"actions": ["manage"]}],
        "editor": [{"actions": ["read"], "where": {"public": True}},
                   {"actions": ["manage"], "where": {owner: "$user._id"}}],
        "viewer": [{"actions": ["read"], "where": {"public": True}},
                   {"actions": ["read"], "where": {owner: "$user._id"}}],
        ANONYMOUS: [],
    }


RawRules = dict[str, list[dict[str, Any]]]


def default_overrides(signup_open: bool, roles: Iterable[str], key_owner: str) -> dict[str, RawRules]:
    """Rules of the services auth itself owns: a user reads and edits only itself unless admin;
    API keys belong to their owner (an admin may list and revoke anybody's)."""
    own_user = [{"actions": ["read", "update", "patch"], "where": {"_id": "$user._id"}}]
    own_keys = [{"actions": ["manage"], "where": {key_owner: "$user._id"}}]
    users: RawRules = {r: own_user for r in roles if r not in (ADMIN, ANONYMOUS)}
    keys: RawRules = {r: own_keys for r in roles if r not in (ADMIN, ANONYMOUS)}
    users[ADMIN] = [{"actions": ["manage"]}]
    users[ANONYMOUS] = [{"actions": ["create"]}] if signup_open else []
    keys[ADMIN] = [{"actions": ["read", "remove"]}, *own_keys]
    keys[ANONYMOUS] = []
    return {"users": users, "api-keys": keys}


@dataclass(frozen=True)
class Rule:
    """Allow ``actions`` on the records matching ``static`` whose ``bindings`` fields equal the caller's."""

    actions: frozenset[str]
    static: dict[str, Any] = field(default_factory=dict)  # a query without user references
    bindings: tuple[tuple[str, str], ...] = ()  # (record field, user attribute)
    static_cond: Cond | None = None  # ``static`` parsed once, for checks on records

    @property
    def unconditional(self) -> bool:
        return not self.static and not self.bindings

    def conditions(self, user: Mapping[str, Any] | None) -> tuple[dict[str, Any], Cond] | None:
        """The rule's query for ``user`` and the same as a condition tree (built without a parse);
        None when the rule cannot apply (no user, missing attribute)."""
        query = dict(self.static)
        parts: list[Cond] = [self.static_cond] if self.static_cond is not None else []
        for path, attr in self.bindings:
            value = user.get(attr) if user else None
            if value is None or isinstance(value, (dict, list, bool)):
                return None
            query[path] = value
            parts.append(Cmp(split_path(path), "$eq", value))
        return query, parts[0] if len(parts) == 1 else And(tuple(parts))


@dataclass(frozen=True)
class Decision:
    """``allowed``; ``query`` is None when every record is covered, else the records that are."""

    allowed: bool
    query: dict[str, Any] | None = None
    cond: Cond | None = None  # ``query`` as a condition tree, for checks on records


DENY = Decision(False)
ALLOW_ALL = Decision(True)


def channel_name(role: str, bound: Iterable[tuple[str, Any]] = ()) -> str:
    """The channel of a role, or of the role's users whose attributes have these values."""
    parts = "&".join(f"{attr}={json.dumps(value, sort_keys=True)}" for attr, value in bound)
    return f"role:{role}" + (f"|{parts}" if parts else "")


class Policy:
    """Every role's rules, global and per service, with the decisions and channels they imply."""

    def __init__(self, roles: Mapping[str, list[Rule]], overrides: Mapping[str, Mapping[str, list[Rule]]],
                 owner_field: str = "userId") -> None:
        self.roles = dict(roles)
        self.overrides = {s: dict(r) for s, r in overrides.items()}
        self.owner_field = owner_field
        self.role_names = tuple(dict.fromkeys([*self.roles, *(r for o in self.overrides.values() for r in o)]))

    @property
    def assignable_roles(self) -> tuple[str, ...]:
        """Roles a user may have (all but ``anonymous``)."""
        return tuple(r for r in self.role_names if r != ANONYMOUS)

    @property
    def bound_attributes(self) -> frozenset[str]:
        """The user attributes some rule refers to (``"$user.<attr>"``): what a user may read or
        change depends on them, so only admins may set them (as ``role``)."""
        every = itertools.chain(*self.roles.values(), *(r for o in self.overrides.values() for r in o.values()))
        return frozenset(attr for rule in every for _, attr in rule.bindings)

    def rules(self, role: str, service: str, action: str) -> list[Rule]:
        """``role``'s rules for ``action`` on ``service`` (its override there, else its global ones)."""
        by_role = self.overrides.get(service, {})
        rules = by_role[role] if role in by_role else self.roles.get(role, [])
        return [r for r in rules if action in r.actions]

    def decide(self, role: str, user: Mapping[str, Any] | None, service: str, action: str) -> Decision:
        """May ``user`` (of ``role``) do ``action`` on ``service``, and on which records?"""
        queries: list[dict[str, Any]] = []
        conds: list[Cond] = []
        for rule in self.rules(role, service, action):
            if rule.unconditional:
                return ALLOW_ALL
            found = rule.conditions(user)
            if found is not None and found[0] not in queries:
                queries.append(found[0])
                conds.append(found[1])
        if not queries:
            return DENY
        if len(queries) == 1:
            return Decision(True, queries[0], conds[0])
        return Decision(True, {"$or": queries}, Or(tuple(conds)))

    def record_channels(self, service: str, record: Mapping[str, Any], id_field: str) -> list[str]:
        """The channels whose connections may read ``record`` (events are sent there)."""
        out: list[str] = []
        for role in self.role_names:
            for rule in self.rules(role, service, "get"):
                if rule.static_cond is not None and not matches(dict(record), rule.static_cond, id_field):
                    continue
                if not rule.bindings:
                    out = [c for c in out if not c.startswith(f"role:{role}|")]
                    out.append(channel_name(role))
                    break  # the whole role hears it
                values = [get_path(record, split_path(path)) for path, _ in rule.bindings]
                if any(v is MISSING or v is None or isinstance(v, (dict, list, bool)) for v in values):
                    continue
                name = channel_name(role, zip((a for _, a in rule.bindings), values, strict=True))
                if name not in out:
                    out.append(name)
        return out

    def user_channels(self, role: str, user: Mapping[str, Any] | None) -> list[str]:
        """The channels a connection of ``user`` (with ``role``) joins."""
        names = [channel_name(role)]
        rules = itertools.chain(self.roles.get(role, []), *(o[role] for o in self.overrides.values() if role in o))
        for rule in rules:
            if not rule.bindings or user is None:
                continue
            values = [user.get(attr) for _, attr in rule.bindings]
            if any(v is None or isinstance(v, (dict, list, bool)) for v in values):
                continue
            name = channel_name(role, zip((a for _, a in rule.bindings), values, strict=True))
            if name not in names:
                names.append(name)
        return names


# ------------------------------------------------------------------ configuration
def parse_rule(raw: Any, where: str) -> Rule:
    """One rule table ``{actions = [...], where = {...}}`` (ConfigError naming ``where``)."""
    if not isinstance(raw, Mapping) or not set(raw) <= {"actions", "where"} or "actions" not in raw:
        raise ConfigError(f"{where}: a rule is {{ actions = [...], where = {{...}} }}, got {raw!r}")
    names = [raw["actions"]] if isinstance(raw["actions"], str) else raw["actions"]
    if not isinstance(names, list) or not names:
        raise ConfigError(f"{where}: actions must be a non-empty list")
    actions: set[str] = set()
    for name in names:
        if name in ACTIONS:
            actions.add(name)
        elif name in ALIASES:
            actions.update(ALIASES[name])
        else:
            raise ConfigError(f"{where}: unknown action {name!r} (use {', '.join([*ACTIONS, *ALIASES])})")
    query = raw.get("where", {})
    if not isinstance(query, Mapping):
        raise ConfigError(f"{where}: where must be a table of conditions")
    static: dict[str, Any] = {}
    bindings: list[tuple[str, str]] = []
    for key, value in query.items():
        if isinstance(value, str) and value.startswith(USER_REF):
            attr = value[len(USER_REF):]
            if not attr or "." in attr or key.startswith("$"):
                raise ConfigError(f"{where}: {key} = {value!r}: a user reference is a top-level "
                                  "field = \"$user.<attr>\"")
            bindings.append((key, attr))
        else:
            static[key] = value
    if USER_REF in json.dumps(static, default=str) or any(k in FILTERS - {"$or", "$and"} for k in static):
        raise ConfigError(f"{where}: user references only as top-level field = \"$user.<attr>\"; no $limit/$sort/...")
    try:
        cond = parse(static).where if static else None
        for path, _ in bindings:
            split_path(path)
    except BadRequest as exc:
        raise ConfigError(f"{where}: invalid condition: {exc.message}") from None
    return Rule(frozenset(actions), static, tuple(bindings), cond)


def parse_rules(raw: Any, where: str) -> list[Rule]:
    """A list of rule tables (ConfigError naming ``where``)."""
    if not isinstance(raw, list):
        raise ConfigError(f"{where} must be a list of rules")
    return [parse_rule(r, f"{where}[{i}]") for i, r in enumerate(raw)]


def load_policy(table: Mapping[str, Any], *, signup_open: bool) -> Policy:
    """The policy of ``[permissions]``: the built-in roles and overrides, then the configured ones."""
    unknown = set(table) - {"roles", "services", "owner_field"}
    if unknown:
        raise ConfigError(f"[permissions]: unknown option(s) {sorted(unknown)}; allowed: owner_field, roles, services")
    owner = table.get("owner_field", "userId")
    if not isinstance(owner, str) or not owner or owner.startswith("$"):
        raise ConfigError("[permissions] owner_field must be a field name")
    roles_raw = {**default_roles(owner), **_table(table, "roles")}
    roles = {name: parse_rules(rules, f"[permissions.roles] {name}") for name, rules in roles_raw.items()}
    overrides_raw: dict[str, dict[str, Any]] = default_overrides(signup_open, roles, KEY_OWNER)
    for service, by_role in _table(table, "services").items():
        if not isinstance(by_role, Mapping):
            raise ConfigError(f"[permissions.services.{service}] must be a table of role = [rules]")
        overrides_raw[service] = {**overrides_raw.get(service, {}), **by_role}
    overrides = {s: {r: parse_rules(rules, f"[permissions.services.{s}] {r}") for r, rules in by_role.items()}
                 for s, by_role in overrides_raw.items()}
    return Policy(roles, overrides, owner)


def _table(table: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[permissions.{key}] must be a table")
    return value
