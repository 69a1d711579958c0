"""Rules as data: decisions, query conditions and the channels a record or a user maps to."""

from __future__ import annotations

from pathlib import Path

from backend.auth.permissions import ALLOW_ALL, DENY, channel_name, load_policy
from tests.auth.support import AUTH_CONFIG, OK, AuthRestClient, auth_server, outcome

UID = "65f000000000000000000001"
USER = {"_id": UID, "role": "editor"}


def test_defaults() -> None:
    policy = load_policy({}, signup_open=False)
    assert policy.decide("admin", {"_id": "x", "role": "admin"}, "runs", "remove") is ALLOW_ALL
    assert policy.decide("anonymous", None, "runs", "find") is DENY
    read = policy.decide("editor", USER, "runs", "find")
    assert read.allowed and read.query == {"$or": [{"public": True}, {"userId": UID}]}
    assert policy.decide("editor", USER, "runs", "patch").query == {"userId": UID}
    assert policy.decide("viewer", {"_id": UID}, "runs", "create") is DENY
    assert policy.decide("nobody", USER, "runs", "find") is DENY  # an unknown role has no rules
    # auth's own services
    assert policy.decide("editor", USER, "users", "find").query == {"_id": UID}
    assert policy.decide("editor", USER, "users", "remove") is DENY
    assert policy.decide("anonymous", None, "users", "create") is DENY
    assert load_policy({}, signup_open=True).decide("anonymous", None, "users", "create") is ALLOW_ALL
    assert policy.decide("admin", {"_id": "x"}, "api-keys", "create").query == {"userId": "x"}


def test_overrides_and_custom_roles() -> None:
    policy = load_policy({
        "owner_field": "ownerId",
        "roles": {"reviewer": [{"actions": ["read", "patch"], "where": {"stage": "review"}}]},
        "services": {"assets": {"anonymous": [{"actions": ["read"]}]}},
    }, signup_open=False)
    assert policy.decide("anonymous", None, "assets", "get") is ALLOW_ALL
    assert policy.decide("anonymous", None, "runs", "get") is DENY
    assert policy.decide("editor", USER, "runs", "remove").query == {"ownerId": UID}
    assert policy.decide("reviewer", USER, "runs", "patch").query == {"stage": "review"}
    assert "reviewer" in policy.assignable_roles and "anonymous" not in policy.assignable_roles


def test_record_and_user_channels() -> None:
    policy = load_policy({}, signup_open=False)
    private = {"_id": "r1", "userId": UID, "public": False}
    public = {**private, "public": True}
    owner = channel_name("editor", [("_id", UID)])
    assert policy.record_channels("runs", private, "_id") == [
        "role:admin", owner, channel_name("viewer", [("_id", UID)])]
    assert set(policy.record_channels("runs", public, "_id")) == {"role:admin", "role:editor", "role:viewer"}
    assert policy.user_channels("editor", USER) == ["role:editor", owner]
    assert policy.user_channels("anonymous", None) == ["role:anonymous"]
    # a string id never shares a channel with a number of the same digits
    assert channel_name("editor", [("_id", "5")]) != channel_name("editor", [("_id", 5)])
    # a record without the owner field reaches only the unconditional readers
    assert policy.record_channels("runs", {"_id": "r2"}, "_id") == ["role:admin"]


def test_decision_cond_is_its_query() -> None:
    """The condition tree a decision carries (built without a parse) means what its query means."""
    from backend.query import parse
    from backend.storage.matcher import matches

    policy = load_policy({"roles": {"reviewer": [{"actions": ["read"], "where": {"stage": {"$in": ["a", "b"]},
                                                                               "userId": "$user._id"}},
                                                 {"actions": ["read"], "where": {"public": True}}]}},
                         signup_open=False)
    records = [{"_id": "1", "userId": UID, "stage": "a"}, {"_id": "2", "userId": UID, "stage": "c"},
               {"_id": "3", "userId": "other", "stage": "a", "public": True}, {"_id": "4", "public": 1},
               {"_id": "5"}, {"_id": UID}]
    for role, service in (("editor", "runs"), ("viewer", "runs"), ("reviewer", "runs"), ("editor", "users")):
        for action in ("get", "patch"):
            d = policy.decide(role, USER, service, action)
            if d.query is None:
                continue
            for record in records:
                assert matches(record, d.cond, "_id") == matches(record, parse(d.query).where, "_id"), (
                    role, service, action, record)


def test_bound_attributes_are_those_rules_refer_to() -> None:
    policy = load_policy({"roles": {"editor": [{"actions": ["read"], "where": {"team": "$user.team"}}]},
                          "services": {"runs": {"viewer": [{"actions": ["read"], "where": {"lab": "$user.lab"}}]}}},
                         signup_open=False)
    assert policy.bound_attributes == {"_id", "team", "lab"}


async def test_an_anonymous_record_has_no_owner(tmp_path: Path) -> None:
    """Where anonymous callers may create, they may not name an owner: the record would count as
    that user's (theirs to read and manage, in their lists)."""
    config = AUTH_CONFIG + '\n[permissions.services.feedback]\nanonymous = [{ actions = ["create"] }]\n'
    async with auth_server(tmp_path, config=config) as (srv, actors):
        await srv.app.resolve("feedback")
        victim = actors["editorA"]
        anonymous, mine = AuthRestClient(srv.url), AuthRestClient(srv.url, victim.token)
        try:
            code, record = await outcome(anonymous, "create", "feedback", {"text": "hi", "userId": victim.id})
            assert code == OK and "userId" not in record
            code, page = await outcome(mine, "find", "feedback", {})
            assert code == OK and page["total"] == 0
        finally:
            await anonymous.close()
            await mine.close()
