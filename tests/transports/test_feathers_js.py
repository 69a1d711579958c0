"""The official Feathers v5 JS clients (REST over fetch, socket.io-client 4) against a real ``plume serve``.

``tests/js/feathers_client_test.js`` runs every method over both transports while a socket client
listens to the four events; the report it prints is checked here. Marcelle's Python client sends
unencoded query strings; those are checked with raw HTTP.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.server import PlumeProcess

JS_DIR = Path(__file__).resolve().parents[1] / "js"
SCRIPT = JS_DIR / "feathers_client_test.js"
CONFIG = """
[services.items]
multi = true
"""
# Fields the server adds; the rest of a record must be what the client sent.
SERVER_FIELDS = {"_id", "createdAt", "updatedAt"}

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (JS_DIR / "node_modules" / "@feathersjs" / "socketio-client").is_dir(),
    reason="needs node and `npm install` in tests/js",
)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlumeProcess]:
    with PlumeProcess(tmp_path_factory.mktemp("feathers-js"), config=CONFIG) as srv:
        yield srv


@pytest.fixture(scope="module")
def report(srv: PlumeProcess) -> dict[str, Any]:
    proc = subprocess.run(["node", str(SCRIPT), srv.url, "items", "plain"], cwd=JS_DIR,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{proc.stderr}\n{proc.stdout}"
    return json.loads(proc.stdout)


def user_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in SERVER_FIELDS}


@pytest.mark.parametrize("via", ["rest", "socket"])
def test_all_methods(report: dict[str, Any], via: str) -> None:
    r = report[via]
    tag = via
    created = r["create"]
    assert user_fields(created) == {"name": f"a-{tag}", "n": 1, "tag": tag}
    assert len(created["_id"]) == 24 and created["createdAt"] == created["updatedAt"]
    assert [user_fields(x) for x in r["createMulti"]] == [
        {"name": f"b-{tag}", "n": 2, "tag": tag}, {"name": f"c-{tag}", "n": 3, "tag": tag}]
    c_id = r["createMulti"][1]["_id"]
    # filter + $gt (a REST string "1" must still match stored numbers) + $sort + $limit + $select
    assert r["findFiltered"] == {"total": 2, "limit": 1, "skip": 0, "data": [{"_id": c_id, "name": f"c-{tag}"}]}
    assert [x["name"] for x in r["findIn"]["data"]] == [f"a-{tag}", f"c-{tag}"]
    assert [x["name"] for x in r["findOr"]["data"]] == [f"a-{tag}", f"b-{tag}"]
    assert r["findAll"]["total"] == 3 and [x["n"] for x in r["findAll"]["data"]] == [1, 2, 3]
    assert r["get"] == created
    assert r["getSelect"] == {"_id": created["_id"], "n": 1}
    assert user_fields(r["update"]) == {"name": f"a2-{tag}", "n": 10, "tag": tag}
    assert r["update"]["_id"] == created["_id"]
    assert user_fields(r["patch"]) == {"name": f"b-{tag}", "n": 2, "tag": tag, "extra": True}
    assert sorted(x["_id"] for x in r["patchMulti"]) == sorted(
        [created["_id"], *(x["_id"] for x in r["createMulti"])])
    assert all(x["flag"] == tag for x in r["patchMulti"])
    assert r["remove"]["_id"] == created["_id"] and r["remove"]["flag"] == tag
    assert sorted(x["_id"] for x in r["removeMulti"]) == sorted(x["_id"] for x in r["createMulti"])
    assert r["findAfter"] == {"total": 0, "limit": 100, "skip": 0, "data": []}


EXPECTED_ERRORS = {
    "patchIdQuery": ("NotFound", 404, "No record found for id"),
    "removeIdQuery": ("NotFound", 404, "No record found for id"),
    "getIdQuery": ("NotFound", 404, "No record found for id"),
    "getMissing": ("NotFound", 404, "No record found for id '0123456789abcdef01234567'"),
    "unknownOperator": ("BadRequest", 400, "$where"),
    "unknownFilter": ("BadRequest", 400, "$where"),
    "updateNoId": ("BadRequest", 400, ""),
    "plainCreateMulti": ("MethodNotAllowed", 405, "Can not create multiple entries"),
    "plainPatchMulti": ("MethodNotAllowed", 405, "Can not patch multiple entries"),
    "plainRemoveMulti": ("MethodNotAllowed", 405, "Can not remove multiple entries"),
}


@pytest.mark.parametrize("via", ["rest", "socket"])
@pytest.mark.parametrize("case", sorted(EXPECTED_ERRORS))
def test_errors_rebuilt_by_client(report: dict[str, Any], via: str, case: str) -> None:
    name, code, message = EXPECTED_ERRORS[case]
    outcome = report[via]["errors"][case]
    assert outcome["ok"] is False, outcome
    err = outcome["error"]
    assert (err["name"], err["code"]) == (name, code), err
    assert message in err["message"]
    assert err["isFeathersError"] and err["rebuiltClass"], err
    assert err["className"] == {"NotFound": "not-found", "BadRequest": "bad-request",
                                "MethodNotAllowed": "method-not-allowed"}[name]


def expected_events(r: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("created", r["create"]), *(("created", x) for x in r["createMulti"]),
            ("updated", r["update"]), ("patched", r["patch"]), *(("patched", x) for x in r["patchMulti"]),
            ("removed", r["remove"]), *(("removed", x) for x in r["removeMulti"])]


@pytest.mark.parametrize("via", ["rest", "socket"])
def test_each_event_once_with_payload(report: dict[str, Any], via: str) -> None:
    """Writes over REST and over the socket reach the socket listener exactly once, as returned."""
    events = [(e["event"], e["data"]) for e in report["events"]]
    for event, record in expected_events(report[via]):
        assert events.count((event, record)) == 1, (event, record)


def test_no_extra_events(report: dict[str, Any]) -> None:
    expected = expected_events(report["rest"]) + expected_events(report["socket"])
    assert report["sentinelSeen"] == 1  # the write after them all was heard, once
    assert len(report["events"]) == len(expected) == 22


def test_the_default_client_upgrades_from_polling_to_websocket(report: dict[str, Any]) -> None:
    """socket.io-client's default: long-polling, then an upgrade (the probe must be answered)."""
    assert report["upgrade"] == {"transport": "websocket", "found": 1}


def test_marcelle_unencoded_query_string(srv: PlumeProcess) -> None:
    """Marcelle's Python client writes brackets and ``$`` unencoded: ``$sort[createdAt]=-1&$select[]=name``."""
    for i in range(3):
        r = requests.post(f"{srv.url}/runs_raw", json={"name": f"r{i}", "basename": "run", "i": i}, timeout=10)
        assert r.status_code == 201, r.text
    requests.post(f"{srv.url}/runs_raw", json={"name": "other", "basename": "other"}, timeout=10)
    raw = f"{srv.url}/runs_raw?$sort[createdAt]=-1&$sort[i]=-1&$select[]=name&basename=run"
    r = requests.get(raw, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3
    assert [d["name"] for d in body["data"]] == ["r2", "r1", "r0"]
    assert all(set(d) == {"_id", "name"} for d in body["data"])
    # the same query percent-encoded, as the JS clients send it
    enc = (f"{srv.url}/runs_raw?%24sort%5BcreatedAt%5D=-1&%24sort%5Bi%5D=-1&%24select%5B0%5D=name"
           "&basename=run&%24limit=2")
    r2 = requests.get(enc, timeout=10)
    assert r2.status_code == 200 and [d["name"] for d in r2.json()["data"]] == ["r2", "r1"]
    assert "Traceback" not in srv.log()
