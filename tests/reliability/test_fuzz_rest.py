"""Property-based fuzzing of the REST surface: whatever a client sends, the answer is never a 5xx,
never a hang, and always the Feathers error JSON when it is an error.

Paths, query strings (qs grammar with operators, nesting and junk), JSON and non-JSON bodies,
headers and multipart uploads come from hypothesis strategies; every request goes to one real
``plume serve`` (authentication on) with a valid, a forged or no credential.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.conftest import EXAMPLES, FuzzServer, server_log_clean

TIMEOUT = 15  # seconds: a request that takes longer is a hang, and fails the test
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("PLUME_FUZZ_RANDOM") is None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

SERVICES = ["fuzz", "runs", "users", "api-keys", "authentication", "assets", "tfjs-models", "onnx-models",
            "keras-models", "info", "socket.io", "Users", "fuzz_x", "FUZZ", "a" * 70, ".", "..", "%2e%2e", "%00"]
segment = st.one_of(st.sampled_from(SERVICES), st.text(min_size=1, max_size=12).map(lambda t: quote(t, safe="")),
                    st.sampled_from(["0123456789abcdef01234567", "upload", "model.json", "-1", "null", "%2F"]))
paths = st.lists(segment, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))

FIELDS = ["name", "age", "_id", "userId", "public", "a.b", "$limit", "$skip", "$sort", "$select", "$or",
          "$and", "$in", "$nin", "$gt", "$lt", "$ne", "$not", "$distinct", "$where", "$regex", "createdAt", ""]
key = st.lists(st.one_of(st.sampled_from(FIELDS), st.text(max_size=6)), min_size=1, max_size=5).map(
    lambda parts: parts[0] + "".join(f"[{p}]" for p in parts[1:]))
value = st.one_of(st.sampled_from(["1", "-1", "0", "true", "null", "", "1e999", "9" * 40, "[]", "{}", "x"]),
                  st.text(max_size=12))
pair = st.tuples(key, value).map(lambda kv: f"{quote(kv[0], safe='[]$')}={quote(kv[1], safe='')}")
query_strings = st.one_of(
    st.lists(pair, max_size=8).map("&".join),
    st.lists(pair, max_size=8).map(lambda ps: "&".join(ps).replace("%5B", "[").replace("%5D", "]")),
    st.binary(max_size=40).map(lambda b: quote(b, safe="=&[]$")),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=16),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), children, max_size=5),
    max_leaves=25,
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.sampled_from([b"", b"{", b"[1,2", b"NaN", b'{"a": NaN}', b"[" * 200 + b"]" * 200, b'{"_id": {"$gt": ""}}',
                     b'{"role": "admin", "email": "x@example.org", "password": "p"}', b"\xff\xfe"]),
)
# requests refuses header values with leading white space, so none are sent.
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip)
headers = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from(["application/json", "text/plain", "multipart/form-data; boundary=x",
                                     "multipart/form-data", "application/x-www-form-urlencoded"]) | header_text,
    "Origin": st.sampled_from(["http://example.org", "null"]) | header_text,
    "Range": st.sampled_from(["bytes=0-10", "bytes=-5", "bytes=10-5", "bytes=0-0,1-1", "junk"]) | header_text,
    "If-None-Match": header_text,
    "X-Service-Method": st.sampled_from(["upload", "find", "predict", "__init__"]) | header_text,
    "Accept": header_text,
})
VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def check(resp: requests.Response) -> None:
    """Never a 5xx; an error answers the Feathers error JSON (HEAD and 204 carry no body)."""
    assert resp.status_code < 500, (resp.status_code, resp.text[:500])
    if resp.status_code >= 400 and resp.request.method != "HEAD" and resp.content:
        body = resp.json()
        assert body["code"] == resp.status_code and isinstance(body["name"], str), body


def credential(choice: int, server: FuzzServer) -> dict[str, str]:
    return [{}, {"Authorization": f"Bearer {server.token}"}, {"Authorization": "Bearer plume_x_y"},
            {"Authorization": "Bearer " + server.token[:-3] + "abc"}][choice]


@pytest.fixture(scope="module")
def http() -> Any:
    with requests.Session() as session:
        yield session


@FUZZ
@given(verb=st.sampled_from(VERBS), path=paths, qs=query_strings, body=bodies, hdrs=headers,
       who=st.integers(0, 3))
def test_rest_requests_never_fail_with_5xx_or_hang(fuzz_server: FuzzServer, http: Any, verb: str, path: str,
                                                   qs: str, body: bytes, hdrs: dict[str, str], who: int) -> None:
    url = fuzz_server.url + path + (f"?{qs}" if qs else "")
    send = body if verb in ("POST", "PUT", "PATCH", "DELETE") else None
    resp = http.request(verb, url, data=send, headers={**hdrs, **credential(who, fuzz_server)}, timeout=TIMEOUT)
    check(resp)


parts = st.lists(st.tuples(
    st.one_of(st.sampled_from(["model.json", "model.weights.bin", "group1-shard1of1.bin", "m.onnx", "model.keras",
                               "model.h5", "a.png", "b.wav", "../x.png", "a.png\x00", "A.PNG", ""]),
              st.text(max_size=12)),
    st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["../../etc/passwd", "x.png", ".hidden"])),
    st.binary(max_size=300),
), max_size=6)


def multipart(items: list[tuple[str, str | None, bytes]], boundary: str) -> bytes:
    out = b""
    for field, filename, content in items:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode("utf-8", "surrogatepass") + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


@FUZZ
@given(service=st.sampled_from(["assets", "tfjs-models", "onnx-models", "keras-models", "runs", "fuzz"]),
       items=parts, boundary=st.sampled_from(["x", "plume", "a" * 70]), truncate=st.integers(0, 50),
       who=st.integers(0, 3))
def test_multipart_uploads_never_fail_with_5xx_or_hang(fuzz_server: FuzzServer, http: Any, service: str,
                                                       items: list[tuple[str, str | None, bytes]], boundary: str,
                                                       truncate: int, who: int) -> None:
    try:
        body = multipart(items, boundary)
    except UnicodeEncodeError:
        return  # a lone surrogate cannot even be sent
    body = body[:len(body) - truncate] if truncate else body
    resp = http.post(f"{fuzz_server.url}/{service}/upload", data=body, timeout=TIMEOUT,
                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                              **credential(who, fuzz_server)})
    check(resp)


def test_the_server_logged_no_error(fuzz_server: FuzzServer, http: Any) -> None:
    """Runs last in the module: after all of the above the server answers and logged no error."""
    assert http.get(f"{fuzz_server.url}/info", timeout=TIMEOUT).status_code == 200
    server_log_clean(fuzz_server)
