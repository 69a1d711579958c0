"""The permission hooks: every external call is checked against the caller's rules.

* ``find``/``get``: the rules' conditions join the query, so the adapter filters *and counts* only
  what the caller may read (``get`` of a record outside them is a 404, as for a missing one; a
  plain ``get`` by id is read by key and then checked against the same conditions).
* ``create``: the owner field is set from the caller (admins may name another owner); each record
  must be one the caller may create.
* ``update``/``patch``/``remove`` by id: a record the caller cannot see is a 404; one it can see but
  not change is a 403; the new state must still be one the caller may write (nobody gives a
  record away, or takes one). The write itself runs with the conditions in its query, so a
  concurrent change cannot slip through. Multi ``patch``/``remove`` touch only what the caller may.
* No rule at all: 401 for anonymous callers, 403 for signed-in ones.
* A method a service lists in its ``public_methods`` option is open to everybody (downloads of
  assets with ``public_assets``, as in Marcelle).

Internal calls (``provider`` None) are not checked: the server's own code is trusted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..errors import Forbidden, NotAuthenticated, NotFound
from ..hooks import HookContext, Params
from ..query import FILTERS, parse
from ..storage.matcher import matches
from .permissions import ADMIN, ANONYMOUS, METHOD_ACTIONS, Decision, Policy

Hook = Callable[[HookContext], Awaitable[None]]
AUTH_PATH = "authentication"
FULL_RECORDS = "plume_auth_full_records"  # id → whole record, for the publisher when $select trimmed it
_SELECT = "plume_auth_select"
_CHECK = "plume_auth_check"
_WRITES = ("create", "update", "patch", "remove")


def caller_role(user: Mapping[str, Any] | None) -> str:
    """The role whose rules apply to ``user`` (``anonymous`` for no user, "" for no valid role)."""
    if user is None:
        return ANONYMOUS
    role = user.get("role")
    return role if isinstance(role, str) and role != ANONYMOUS else ""  # no role: no rules


def is_admin(params: Params) -> bool:
    """True for an admin's call, and for the server's own (which no rule limits)."""
    user = params.user
    return params.provider is None or bool(user and user.get("role") == ADMIN)


def denied(user: Mapping[str, Any] | None, action: str, path: str) -> Exception:
    """The error refusing ``action``: 401 for an anonymous caller, 403 for a signed-in one."""
    if user is None:
        return NotAuthenticated("Not authenticated")
    return Forbidden(f"You are not allowed to {action} on '{path}'")


def conditions_of(query: Mapping[str, Any]) -> dict[str, Any]:
    """A query without its filters ($limit, $sort, $select...): only what selects records."""
    return {k: v for k, v in query.items() if k not in FILTERS or k in ("$or", "$and")}


def restrict(query: Mapping[str, Any], rule_query: Mapping[str, Any] | None) -> dict[str, Any]:
    """``query`` limited to the records ``rule_query`` covers (None: unchanged)."""
    if rule_query is None:
        return dict(query)
    rest = conditions_of(query)
    filters = {k: v for k, v in query.items() if k not in rest}
    return {**filters, "$and": [rest, dict(rule_query)] if rest else [dict(rule_query)]}


def _either(a: Decision, b: Decision) -> dict[str, Any] | None:
    """The query covering the records of either decision (None: all records)."""
    parts = [d.query for d in (a, b) if d.allowed]
    if any(q is None for q in parts):
        return None
    return parts[0] if len(parts) == 1 else {"$or": parts}  # type: ignore[return-value]


def custom_action(handle: Any, method: str) -> str:
    """The action a custom method needs: the service's ``method_actions`` option says (e.g.
    ``{"predict": "get"}``); "create" when it does not."""
    return str(handle.options.get("method_actions", {}).get(method, "create"))


def authorize_hooks(policy: Policy) -> dict[str, Any]:
    """The app-level hook spec enforcing ``policy``."""

    async def before(ctx: HookContext) -> None:
        p = ctx.params
        if p.provider is None or ctx.path == AUTH_PATH or ctx.method in ctx.service.options.get("public_methods", ()):
            return
        user, role = p.user, caller_role(p.user)
        custom = ctx.method in ctx.service.custom
        action = (custom_action(ctx.service, ctx.method) if custom
                  else METHOD_ACTIONS.get(ctx.method, ctx.method))
        decision = policy.decide(role, user, ctx.path, action)
        if not decision.allowed:
            raise denied(user, action, ctx.path)
        if custom or ctx.method in METHOD_ACTIONS:
            # Files and custom methods: the service checks the documents it touches (a download
            # reads through ``get``, with the caller's params).
            return
        if ctx.service.adapter is None:
            # Rules are enforced as queries, which only storage adapters run; a custom service is
            # either open to the caller as a whole or closed.
            if decision.query is not None:
                raise denied(user, action, ctx.path)
            return
        by_key = ctx.method == "get" and decision.query is not None and not conditions_of(p.query)
        if "$select" in p.query and (ctx.method in _WRITES or by_key):
            # Rules are checked, and events published, on whole records (a trimmed one could dodge
            # a rule): the selection is applied after the method, by ``after``.
            p.extra[_SELECT] = parse({"$select": p.query["$select"]}).select
            p.query = {k: v for k, v in p.query.items() if k != "$select"}
        if by_key:
            # A plain get by id is read by its key (the adapters' fastest path) and checked against
            # the rules afterwards, with the same semantics as the query would have had.
            p.extra[_CHECK] = decision.cond
        elif ctx.method in ("find", "get"):
            p.query = restrict(p.query, decision.query)
        elif ctx.method == "create":
            _check_create(ctx, policy, decision, user, role)
        else:
            await _check_change(ctx, policy, decision, user, role)
            p.query = restrict(p.query, decision.query)

    async def after(ctx: HookContext) -> None:
        extra = ctx.params.extra
        cond = extra.pop(_CHECK, None)
        if cond is not None and not (isinstance(ctx.result, dict)
                                     and matches(ctx.result, cond, ctx.service.store.id_field)):
            raise NotFound(f"No record found for id '{ctx.id}'")
        select = extra.pop(_SELECT, None)
        if select is None:
            return
        adapter = ctx.service.store
        many = isinstance(ctx.result, list)
        records = [r for r in (ctx.result if many else [ctx.result]) if isinstance(r, dict)]
        extra[FULL_RECORDS] = {str(r.get(adapter.id_field)): r for r in records}
        trimmed = adapter._select(records, select)
        ctx.result = trimmed if many else (trimmed[0] if trimmed else ctx.result)

    return {"before": [before], "after": {m: [after] for m in ("get", *_WRITES)}}


def _owner_field(ctx: HookContext, policy: Policy) -> str | None:
    return ctx.service.options.get("owner_field", policy.owner_field)


def _check_create(ctx: HookContext, policy: Policy, decision: Decision, user: Any, role: str) -> None:
    owner = _owner_field(ctx, policy)
    id_field = ctx.service.store.id_field
    cond = decision.cond
    for item in ctx.data if isinstance(ctx.data, list) else [ctx.data]:
        if not isinstance(item, dict):
            continue  # the adapter answers 400
        if owner and user is None:
            item.pop(owner, None)  # an anonymous record has no owner (nobody may claim one for it)
        elif owner:
            if role == ADMIN:
                item.setdefault(owner, user.get("_id"))
            else:
                item[owner] = user.get("_id")
        if cond is not None and not matches(item, cond, id_field):
            raise Forbidden(f"You are not allowed to create this record on '{ctx.path}'")


async def _check_change(ctx: HookContext, policy: Policy, decision: Decision, user: Any, role: str) -> None:
    adapter, p = ctx.service.store, ctx.params
    id_field = adapter.id_field
    owner = _owner_field(ctx, policy)
    cond = decision.cond
    data = ctx.data if isinstance(ctx.data, dict) else None
    if ctx.id is None:
        if cond is not None and ctx.method == "patch" and data is not None:
            scope = Params(query=restrict(conditions_of(p.query), decision.query), query_is_text=p.query_is_text,
                           extra={"paginate": False})
            for record in await adapter.find(scope):
                if not matches({**record, **data}, cond, id_field):
                    raise Forbidden(f"You are not allowed to make this change on '{ctx.path}'")
        return
    keep_owner = ctx.method == "update" and owner and data is not None and owner not in data
    if cond is None and not keep_owner:
        return
    readable = policy.decide(role, user, ctx.path, "get")
    scope_query = restrict(conditions_of(p.query), _either(readable, decision))
    current = await adapter.get(ctx.id, Params(query=scope_query, query_is_text=p.query_is_text))
    if cond is not None and not matches(current, cond, id_field):
        raise Forbidden(f"You are not allowed to {ctx.method} this record on '{ctx.path}'")
    if keep_owner and owner in current:
        data[owner] = current[owner]  # type: ignore[index]  # a replace keeps the owner
    if cond is not None and data is not None and ctx.method in ("update", "patch"):
        new = {**data, id_field: current[id_field]} if ctx.method == "update" else {**current, **data}
        if not matches(new, cond, id_field):
            raise Forbidden(f"You are not allowed to make this change on '{ctx.path}'")
