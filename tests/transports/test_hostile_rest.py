"""Hostile REST input against a real ``plume serve``: each is a clear Feathers 4xx, never a 500 or a hang.

One server serves the whole module; the last test checks that it still answers normally, that
nothing stored was lost and that its log holds no traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.support.server import PlumeProcess
from tests.transports.hostile import (
    BAD_PAGING,
    BAD_QUERY_FIELDS,
    CONFIG,
    MAX_BODY,
    UNKNOWN_OPERATORS,
    assert_error,
    no_tracebacks,
)

TIMEOUT = 20
FLAT = "[services.flat]\npaginate = false\n"  # an unpaginated service: $limit reaches SQL as is
JSON = {"Content-Type": "application/json"}


def qs(query: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Encode a nested query the way Node's ``qs`` does (``a[b][0]=x``)."""
    out: list[tuple[str, str]] = []
    items = query.items() if isinstance(query, dict) else enumerate(query)
    for key, value in items:
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, (dict, list)):
            out += qs(value, name)  # type: ignore[arg-type]
        else:
            out.append((name, str(value)))
    return out


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlumeProcess]:
    with PlumeProcess(tmp_path_factory.mktemp("hostile-rest"), config=CONFIG + FLAT) as srv:
        yield srv


@pytest.fixture(scope="module")
def http(srv: PlumeProcess) -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture(scope="module")
def seeded(srv: PlumeProcess, http: requests.Session) -> list[dict[str, Any]]:
    """Records that must survive every attack below unchanged."""
    out = []
    for i in range(5):
        r = http.post(f"{srv.url}/things", json={"name": f"n{i}", "n": i}, timeout=TIMEOUT)
        assert r.status_code == 201
        out.append(r.json())
    return out


@pytest.mark.parametrize("body", [b"{bad", b'{"a":1,}', b"{'a': 1}", b'{"a":', b"\xff\xfe{}", b"[1,2",
                                  b"NaN", b'{"a": 1} trailing', b"\x00"])
@pytest.mark.parametrize("verb,path", [("POST", "/things"), ("PUT", "/things/x"), ("PATCH", "/things/x"),
                                       ("POST", "/multi")])
def test_malformed_json(srv: PlumeProcess, http: requests.Session, seeded: Any, verb: str, path: str,
                        body: bytes) -> None:
    assert_error(http.request(verb, srv.url + path, data=body, headers=JSON, timeout=TIMEOUT), 400)


@pytest.mark.parametrize("body", ['"text"', "3", "null", "true", "[1, 2]", '[{"a": 1}, "x"]', "[[]]"])
def test_non_object_bodies(srv: PlumeProcess, http: requests.Session, body: str) -> None:
    # /multi accepts arrays of objects, so anything else in an array is a 400 there
    assert_error(http.post(f"{srv.url}/multi", data=body, headers=JSON, timeout=TIMEOUT), 400)
    if not body.startswith("["):
        assert_error(http.post(f"{srv.url}/things", data=body, headers=JSON, timeout=TIMEOUT), 400)
        assert_error(http.patch(f"{srv.url}/things/x", data=body, headers=JSON, timeout=TIMEOUT), 400)


@pytest.mark.parametrize("query", UNKNOWN_OPERATORS, ids=json.dumps)
def test_unknown_operators(srv: PlumeProcess, http: requests.Session, query: dict[str, Any]) -> None:
    body = assert_error(http.get(f"{srv.url}/things", params=qs(query), timeout=TIMEOUT), 400)
    assert "$" in body["message"]
    # the same through writes with a query
    assert_error(http.patch(f"{srv.url}/multi", params=qs(query), json={"x": 1}, timeout=TIMEOUT), 400)
    assert_error(http.delete(f"{srv.url}/multi", params=qs(query), timeout=TIMEOUT), 400)


@pytest.mark.parametrize("raw", ["$where=1", "name[$where]=1", "$or[0][$where]=1", "$or[0][name][$where]=x"])
def test_unknown_operators_unencoded(srv: PlumeProcess, http: requests.Session, raw: str) -> None:
    assert_error(http.get(f"{srv.url}/things?{raw}", timeout=TIMEOUT), 400)


def test_qs_depth_bomb(srv: PlumeProcess, http: requests.Session) -> None:
    assert_error(http.get(f"{srv.url}/things?a[b][c][d][e][f][g]=1", timeout=TIMEOUT), 400)
    assert_error(http.get(f"{srv.url}/things?" + "a" + "[b]" * 500 + "=1", timeout=TIMEOUT), 400)


def test_qs_array_bombs(srv: PlumeProcess, http: requests.Session) -> None:
    # a huge index becomes an object key (qs semantics), never a million-slot list
    r = http.get(f"{srv.url}/things?a[999999]=1", timeout=TIMEOUT)
    assert r.status_code in (200, 400) and r.headers["Content-Type"].startswith("application/json")
    if r.status_code == 200:
        assert r.json()["total"] == 0
    assert_error(http.get(f"{srv.url}/things?" + "&".join(f"p{i}=1" for i in range(5000)), timeout=TIMEOUT), 400)
    assert_error(http.get(f"{srv.url}/things?" + "&".join(f"a[]={i}" for i in range(5000)), timeout=TIMEOUT), 400)


@pytest.mark.parametrize("raw", ["$limit=99999999999999999999", "$skip=99999999999999999999", "n=99999999999999999999",
                                 "n[$gt]=-99999999999999999999", "n[$in][]=18446744073709551616", "n=1e400",
                                 "n[$lt]=1e400", "$limit=1e3"])
@pytest.mark.parametrize("path", ["things", "flat"])
def test_numbers_past_what_databases_bind(srv: PlumeProcess, http: requests.Session, seeded: Any, raw: str,
                                          path: str) -> None:
    r = http.get(f"{srv.url}/{path}?{raw}", timeout=TIMEOUT)
    if r.status_code != 200:  # a clear refusal is fine; a 500 from the SQLite binding is not
        assert_error(r, 400)


@pytest.mark.parametrize("query", BAD_PAGING, ids=json.dumps)
def test_bad_paging(srv: PlumeProcess, http: requests.Session, query: dict[str, Any]) -> None:
    assert_error(http.get(f"{srv.url}/things", params=qs(query), timeout=TIMEOUT), 400)


def test_in_with_too_many_values(srv: PlumeProcess, http: requests.Session) -> None:
    # 1,500 values fit in a request line; more values than the server allows is a 400
    params = [(f"n[$in][{i}]", str(i)) for i in range(1500)]
    assert_error(http.get(f"{srv.url}/things", params=params, timeout=TIMEOUT), 400)


def test_ten_thousand_keys_round_trip(srv: PlumeProcess, http: requests.Session) -> None:
    data = {f"key_{i}": i for i in range(10_000)}
    r = http.post(f"{srv.url}/things", json=data, timeout=TIMEOUT)
    assert r.status_code == 201, r.text[:300]
    back = http.get(f"{srv.url}/things/{r.json()['_id']}", timeout=TIMEOUT).json()
    assert {k: v for k, v in back.items() if k.startswith("key_")} == data


@pytest.mark.parametrize("opener,closer", [("[", "]"), ('{"a":', "}")])
def test_deeply_nested_body(srv: PlumeProcess, http: requests.Session, opener: str, closer: str) -> None:
    body = '{"x":' + opener * 10_000 + "1" + closer * 10_000 + "}"
    assert_error(http.post(f"{srv.url}/things", data=body, headers=JSON, timeout=TIMEOUT), 400)
    # moderately deep (100 levels) is refused too: the server caps nesting well below any stack limit
    body = '{"x":' + opener * 100 + "1" + closer * 100 + "}"
    assert_error(http.post(f"{srv.url}/things", data=body, headers=JSON, timeout=TIMEOUT), 400)


WEIRD_FIELDS = {'q"uote': 1, "do.t": 2, "br[ack]et": 3, "ünïcödé ✓": 4, "back\\slash": 5, " ": 6,
                "a$b": 7, "nested": {"$dollar": 8, "x.y": [9]}}


def test_weird_field_names_round_trip(srv: PlumeProcess, http: requests.Session) -> None:
    r = http.post(f"{srv.url}/things", json=WEIRD_FIELDS, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    created = r.json()
    back = http.get(f"{srv.url}/things/{created['_id']}", timeout=TIMEOUT).json()
    assert {k: back[k] for k in WEIRD_FIELDS} == WEIRD_FIELDS
    r = http.patch(f"{srv.url}/things/{created['_id']}", json={"ünïcödé ✓": 40}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["ünïcödé ✓"] == 40 and r.json()['q"uote'] == 1


@pytest.mark.parametrize("name", ["$set", "$where", "nul\x00byte"])
def test_refused_field_names_in_data(srv: PlumeProcess, http: requests.Session, name: str) -> None:
    assert_error(http.post(f"{srv.url}/things", json={name: 1}, timeout=TIMEOUT), 400)
    assert_error(http.patch(f"{srv.url}/multi", json={name: 1}, timeout=TIMEOUT), 400)


@pytest.mark.parametrize("name", BAD_QUERY_FIELDS)
def test_bad_field_names_in_queries(srv: PlumeProcess, http: requests.Session, name: str) -> None:
    assert_error(http.get(f"{srv.url}/things", params={name: "1"}, timeout=TIMEOUT), 400)
    assert_error(http.get(f"{srv.url}/things", params={f"$sort[{name}]": "1"}, timeout=TIMEOUT), 400)
    assert_error(http.get(f"{srv.url}/things", params={"$select[]": name}, timeout=TIMEOUT), 400)


def test_unicode_field_names_in_queries(srv: PlumeProcess, http: requests.Session) -> None:
    http.post(f"{srv.url}/things", json={"été": "chaud", "n": 100}, timeout=TIMEOUT)
    r = http.get(f"{srv.url}/things", params={"été": "chaud", "$select[]": "été"}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert [{k: v for k, v in d.items() if k != "_id"} for d in r.json()["data"]] == [{"été": "chaud"}]


@pytest.mark.parametrize("raw_id", ["a" * 20_000, quote("a/b", safe=""), quote("été"), "%2E%2E", "..%2F..%2Fetc",
                                    "0123456789abcdef0123456z", "%00", "%ZZ"])
def test_ids_of_the_wrong_shape(srv: PlumeProcess, http: requests.Session, seeded: Any, raw_id: str) -> None:
    url = f"{srv.url}/things/{raw_id}"
    assert_error(http.get(url, timeout=TIMEOUT), 404)
    assert_error(http.put(url, json={"a": 1}, timeout=TIMEOUT), 404)
    assert_error(http.patch(url, json={"a": 1}, timeout=TIMEOUT), 404)
    assert_error(http.delete(url, timeout=TIMEOUT), 404)


def test_id_with_a_raw_slash(srv: PlumeProcess, http: requests.Session) -> None:
    # /things/a/b names a file download, which a stored service does not offer
    assert_error(http.get(f"{srv.url}/things/a/b", timeout=TIMEOUT), 405)
    assert_error(http.get(f"{srv.url}/things/a/b/c", timeout=TIMEOUT), 404)


def test_oversize_bodies(srv: PlumeProcess, http: requests.Session) -> None:
    big = json.dumps({"blob": "x" * (MAX_BODY + 10)})
    assert_error(http.post(f"{srv.url}/things", data=big, headers=JSON, timeout=TIMEOUT), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming
        yield b'{"blob": "'
        for _ in range(2 * MAX_BODY // 65536):
            yield b"x" * 65536
        yield b'"}'

    assert_error(http.post(f"{srv.url}/things", data=chunks(), headers=JSON, timeout=TIMEOUT), 413)


@pytest.mark.parametrize("verb,path", [("PROPFIND", "/things"), ("TRACE", "/things"), ("POST", "/things/abc")])
def test_wrong_verbs(srv: PlumeProcess, http: requests.Session, verb: str, path: str) -> None:
    assert_error(http.request(verb, srv.url + path, timeout=TIMEOUT), 405)


def test_update_without_id(srv: PlumeProcess, http: requests.Session) -> None:
    # PUT on a collection is update(null): a 400, as in Feathers.
    assert_error(http.put(f"{srv.url}/things", json={"a": 1}, timeout=TIMEOUT), 400)


def test_multi_without_the_option(srv: PlumeProcess, http: requests.Session) -> None:
    assert_error(http.post(f"{srv.url}/things", json=[{"a": 1}], timeout=TIMEOUT), 405)
    assert_error(http.patch(f"{srv.url}/things", json={"a": 1}, timeout=TIMEOUT), 405)
    assert_error(http.delete(f"{srv.url}/things", timeout=TIMEOUT), 405)


@pytest.mark.parametrize("path", ["/$bad", "/a%00b", "/%2E%2E", "/" + "s" * 300, "/x/y/z/w"])
def test_invalid_service_names(srv: PlumeProcess, http: requests.Session, path: str) -> None:
    r = http.get(srv.url + path, timeout=TIMEOUT)
    assert_error(r, 404)


def test_server_still_healthy(srv: PlumeProcess, http: requests.Session, seeded: list[dict[str, Any]]) -> None:
    """Runs last: nothing above broke the server, lost a record, or logged a traceback."""
    for record in seeded:
        assert http.get(f"{srv.url}/things/{record['_id']}", timeout=TIMEOUT).json() == record
    r = http.post(f"{srv.url}/things", json={"after": True}, timeout=TIMEOUT)
    assert r.status_code == 201
    r = http.get(f"{srv.url}/things", params={"after": "true"}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["total"] == 1
    no_tracebacks(srv.log())


PARSER_LEVEL = {
    "request line over max_line_size": lambda url: requests.get(
        f"{url}/things", params=[(f"n[$in][{i}]", str(i)) for i in range(10_000)], timeout=TIMEOUT),
    "unknown HTTP method token": lambda url: requests.request("BREW", f"{url}/things/abc", timeout=TIMEOUT),
}


@pytest.mark.parametrize("case", sorted(PARSER_LEVEL))
def test_http_parser_level_errors(tmp_path: Any, case: str) -> None:
    """What aiohttp's HTTP parser refuses still answers Feathers JSON, logged as one WARNING line."""
    with PlumeProcess(tmp_path / "parser") as srv:
        r = PARSER_LEVEL[case](srv.url)
        assert 400 <= r.status_code < 500
        assert requests.get(f"{srv.url}/things", timeout=TIMEOUT).status_code == 200
        body = r.json()
        assert r.headers["Content-Type"].startswith("application/json") and body["code"] == r.status_code
        assert body["name"] == "BadRequest" and body["className"] == "bad-request" and body["message"]
        no_tracebacks(srv.log())
        assert " WARNING " in srv.log()
