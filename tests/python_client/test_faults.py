"""Hostile backends: 5xx then success, 429, lost answers, hangs, refused connections, HTML error pages.

A fault proxy (:mod:`.faults`) stands between the client and a real server and spoils the answers
it is told to; everything else reaches the server unchanged.
"""

from __future__ import annotations

import email.utils
import time

import pytest

from python_client import AsyncDataStore, DataStore, RetryPolicy
from python_client.errors import (
    BadGateway,
    ConnectionFailed,
    NotFound,
    RequestTimeout,
    TooManyRequests,
    TransportError,
    Unavailable,
)
from python_client.ids import object_id
from python_client.retry import parse_retry_after
from tests.support.inprocess import Running
from tests.support.server import PlumeProcess, free_port

from .faults import FaultProxy, Status

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
BUSY = Status(503, '{"name":"Unavailable","message":"busy","code":503,"className":"unavailable"}',
              {"Content-Type": "application/json"})
NGINX_502 = Status(502, "<html><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></html>",
                   {"Content-Type": "text/html"})


@pytest.fixture
def proxy(plume: PlumeProcess):  # type: ignore[no-untyped-def]
    with FaultProxy(plume.url).threaded() as p:
        yield p


def test_transient_errors_then_success(proxy: FaultProxy, name: str) -> None:
    with DataStore(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        rec = svc.create({"x": 1})
        proxy.then(BUSY, NGINX_502)
        assert svc.get(rec["_id"])["x"] == 1
        proxy.then(Status(429, "", {"Retry-After": "0"}))
        assert svc.find()["total"] == 1
        proxy.then(BUSY)
        assert svc.patch(rec["_id"], {"x": 2})["x"] == 2
    assert len(proxy.requests("GET")) == 5 and len(proxy.requests("PATCH")) == 2


def test_retries_give_up_with_the_last_error(proxy: FaultProxy, name: str) -> None:
    with DataStore(proxy.url, retry=FAST) as store:
        proxy.then(NGINX_502, NGINX_502, NGINX_502)
        with pytest.raises(BadGateway, match="502 Bad Gateway") as info:
            store.service(name).find()
        assert info.value.attempts == 3
        proxy.then(*[Status(429, "slow down")] * 3)
        with pytest.raises(TooManyRequests):
            store.service(name).find()


def test_a_create_without_id_is_never_repeated_blindly(proxy: FaultProxy, name: str) -> None:
    with DataStore(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        proxy.then(BUSY)
        with pytest.raises(Unavailable) as info:
            svc.create({"x": 1})
        assert info.value.attempts == 1
        proxy.then("lose")  # the server creates it, the answer is lost
        with pytest.raises(ConnectionFailed):
            svc.create({"x": 2})
        assert [r["x"] for r in svc.items()] == [2]  # created once, not twice


def test_a_create_with_its_id_is_repeated_safely(proxy: FaultProxy, name: str) -> None:
    with DataStore(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        rid = object_id()
        proxy.then("lose")  # created, answer lost; the repeat answers 409 and the record is fetched
        rec = svc.create({"_id": rid, "x": 1})
        assert rec["_id"] == rid and rec["x"] == 1
        proxy.then(BUSY, "drop")
        assert svc.create({"_id": object_id(), "x": 2})["x"] == 2
        assert sorted(r["x"] for r in svc.items()) == [1, 2]
    assert [s.action for s in proxy.requests("POST")] == ["lose", "forward", BUSY, "drop", "forward"]


def test_lost_answers_of_idempotent_calls_are_repeated(proxy: FaultProxy, name: str) -> None:
    with DataStore(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        rec = svc.create({"x": 1})
        proxy.then("lose")
        assert svc.patch(rec["_id"], {"x": 5})["x"] == 5
        proxy.then("drop")
        assert svc.update(rec["_id"], {"x": 6})["x"] == 6
        proxy.then("lose")
        with pytest.raises(NotFound):  # removed by the lost attempt: the repeat finds nothing
            svc.remove(rec["_id"])


def test_query_wide_writes_are_never_repeated(proxy: FaultProxy, name: str) -> None:
    with DataStore(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        rec = svc.create({"x": 1})
        proxy.then(BUSY)
        with pytest.raises(Unavailable) as patched:
            svc.patch(None, {"x": 2}, {"query": {"x": 1}})  # may match other records the second time
        proxy.then(BUSY)
        with pytest.raises(Unavailable) as removed:
            svc.remove(None, {"query": {"x": 1}})
        assert patched.value.attempts == removed.value.attempts == 1
        proxy.then(BUSY)
        assert svc.patch(rec["_id"], {"x": 3})["x"] == 3  # one record, by id: repeated
    assert [s.action for s in proxy.requests("PATCH")] == [BUSY, BUSY, "forward"]
    assert [s.action for s in proxy.requests("DELETE")] == [BUSY]


async def test_the_async_client_does_not_repeat_query_wide_writes(server: Running, name: str) -> None:
    async with FaultProxy(server.url) as proxy, AsyncDataStore(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        await svc.create({"x": 1})
        proxy.then(BUSY)
        with pytest.raises(Unavailable) as info:
            await svc.remove(None, {"query": {"x": 1}})
        assert info.value.attempts == 1 and len(proxy.requests("DELETE")) == 1


def test_timeouts(proxy: FaultProxy, name: str) -> None:
    with DataStore(proxy.url, timeout=0.3, retry=RetryPolicy(attempts=2, backoff=0.01)) as store:
        proxy.then("hang", "hang")
        with pytest.raises(RequestTimeout) as info:
            store.service(name).find()
        assert info.value.attempts == 2 and isinstance(info.value, TransportError)
        proxy.then("hang")
        with pytest.raises(RequestTimeout) as info:
            store.service(name).create({"x": 1})  # may have been received: not repeated
        assert info.value.attempts == 1


def test_a_backend_that_is_down() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with DataStore(url, retry=FAST) as store:
        with pytest.raises(ConnectionFailed) as info:
            store.service("x").create({"a": 1})  # never reached the server: safe to repeat, even a create
        assert info.value.attempts == 3
        with pytest.raises(ConnectionFailed):
            store.service("x").on("created", print)


def test_retry_delays() -> None:
    policy = RetryPolicy(backoff=0.1, max_backoff=1.0, jitter=0.25, max_retry_after=5)
    for retry in range(1, 10):
        base = min(0.1 * 2 ** (retry - 1), 1.0)
        assert base * 0.75 <= policy.delay(retry) <= base * 1.25
    assert policy.delay(1, retry_after=60) == 5
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (parse_retry_after(later) or 0) <= 30


async def test_the_async_client_under_the_same_faults(server: Running, name: str) -> None:
    async with FaultProxy(server.url) as proxy, AsyncDataStore(proxy.url, timeout=0.5, retry=FAST) as store:
        svc = store.service(name)
        rec = await svc.create({"x": 1})
        proxy.then(BUSY, NGINX_502)
        assert (await svc.get(rec["_id"]))["x"] == 1
        proxy.then("lose")
        with pytest.raises(ConnectionFailed):
            await svc.create({"x": 2})
        rid = object_id()
        proxy.then("lose")
        assert (await svc.create({"_id": rid, "x": 3}))["_id"] == rid
        proxy.then("hang", "hang", "hang")
        with pytest.raises(RequestTimeout) as info:
            await svc.find()
        assert info.value.attempts == 3
        proxy.then(*[NGINX_502] * 3)
        with pytest.raises(BadGateway):
            await svc.find()
        assert sorted([r["x"] async for r in svc.items()]) == [1, 2, 3]
    async with AsyncDataStore(f"http://127.0.0.1:{free_port()}", retry=FAST) as down:
        with pytest.raises(ConnectionFailed) as refused:
            await down.service("x").create({"a": 1})
        assert refused.value.attempts == 3
