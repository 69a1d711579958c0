"""Hostile backends: 5xx then success, 429, lost answers, hangs, refused connections, HTML error pages.

A fault proxy (:mod:`.faults`) stands between the client and a real server and spoils the answers
it is told to; everything else reaches the server unchanged. Each test runs over both client
shells (the ``shell`` fixture): the retry decisions are one core's, and each shell must carry them out.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator

import pytest

from python_client import RetryPolicy
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
from tests.support.server import free_port

from .faults import FaultProxy, Status
from .shells import Shell

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
BUSY = Status(503, '{"name":"Unavailable","message":"busy","code":503,"className":"unavailable"}',
              {"Content-Type": "application/json"})
NGINX_502 = Status(502, "<html><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></html>",
                   {"Content-Type": "text/html"})


@pytest.fixture
async def proxy(server: Running) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(server.url) as p:
        yield p


async def test_transient_errors_then_success(shell: Shell, proxy: FaultProxy, name: str) -> None:
    async with shell.store(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        rec = await svc.create({"x": 1})
        proxy.then(BUSY, NGINX_502)
        assert (await svc.get(rec["_id"]))["x"] == 1
        proxy.then(Status(429, "", {"Retry-After": "0"}))
        assert (await svc.find())["total"] == 1
        proxy.then(BUSY)
        assert (await svc.patch(rec["_id"], {"x": 2}))["x"] == 2
    assert len(proxy.requests("GET")) == 5 and len(proxy.requests("PATCH")) == 2


async def test_retries_give_up_with_the_last_error(shell: Shell, proxy: FaultProxy, name: str) -> None:
    async with shell.store(proxy.url, retry=FAST) as store:
        proxy.then(NGINX_502, NGINX_502, NGINX_502)
        with pytest.raises(BadGateway, match="502 Bad Gateway") as info:
            await store.service(name).find()
        assert info.value.attempts == 3
        proxy.then(*[Status(429, "slow down")] * 3)
        with pytest.raises(TooManyRequests):
            await store.service(name).find()


async def test_a_create_without_id_is_never_repeated_blindly(shell: Shell, proxy: FaultProxy, name: str) -> None:
    async with shell.store(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        proxy.then(BUSY)
        with pytest.raises(Unavailable) as info:
            await svc.create({"x": 1})
        assert info.value.attempts == 1
        proxy.then("lose")  # the server creates it, the answer is lost
        with pytest.raises(ConnectionFailed):
            await svc.create({"x": 2})
        assert [r["x"] for r in await svc.items()] == [2]  # created once, not twice


async def test_a_create_with_its_id_is_repeated_safely(shell: Shell, proxy: FaultProxy, name: str) -> None:
    async with shell.store(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        rid = object_id()
        proxy.then("lose")  # created, answer lost; the repeat answers 409 and the record is fetched
        rec = await svc.create({"_id": rid, "x": 1})
        assert rec["_id"] == rid and rec["x"] == 1
        proxy.then(BUSY, "drop")
        assert (await svc.create({"_id": object_id(), "x": 2}))["x"] == 2
        assert sorted(r["x"] for r in await svc.items()) == [1, 2]
    assert [s.action for s in proxy.requests("POST")] == ["lose", "forward", BUSY, "drop", "forward"]


async def test_lost_answers_of_idempotent_calls_are_repeated(shell: Shell, proxy: FaultProxy, name: str) -> None:
    async with shell.store(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        rec = await svc.create({"x": 1})
        proxy.then("lose")
        assert (await svc.patch(rec["_id"], {"x": 5}))["x"] == 5
        proxy.then("drop")
        assert (await svc.update(rec["_id"], {"x": 6}))["x"] == 6
        proxy.then("lose")
        with pytest.raises(NotFound):  # removed by the lost attempt: the repeat finds nothing
            await svc.remove(rec["_id"])


async def test_query_wide_writes_are_never_repeated(shell: Shell, proxy: FaultProxy, name: str) -> None:
    async with shell.store(proxy.url, retry=FAST) as store:
        svc = store.service(name)
        rec = await svc.create({"x": 1})
        proxy.then(BUSY)
        with pytest.raises(Unavailable) as patched:
            await svc.patch(None, {"x": 2}, {"query": {"x": 1}})  # may match other records the second time
        proxy.then(BUSY)
        with pytest.raises(Unavailable) as removed:
            await svc.remove(None, {"query": {"x": 1}})
        assert patched.value.attempts == removed.value.attempts == 1
        proxy.then(BUSY)
        assert (await svc.patch(rec["_id"], {"x": 3}))["x"] == 3  # one record, by id: repeated
    assert [s.action for s in proxy.requests("PATCH")] == [BUSY, BUSY, "forward"]
    assert [s.action for s in proxy.requests("DELETE")] == [BUSY]


async def test_timeouts(shell: Shell, proxy: FaultProxy, name: str) -> None:
    async with shell.store(proxy.url, timeout=0.3, retry=RetryPolicy(attempts=3, backoff=0.01)) as store:
        proxy.then("hang", "hang", "hang")
        with pytest.raises(RequestTimeout) as info:
            await store.service(name).find()
        assert info.value.attempts == 3 and isinstance(info.value, TransportError)
        proxy.then("hang")
        with pytest.raises(RequestTimeout) as info:
            await store.service(name).create({"x": 1})  # may have been received: not repeated
        assert info.value.attempts == 1
        assert await store.service(name).items() == []  # not repeated: its one attempt hung in the proxy


async def test_a_backend_that_is_down(shell: Shell) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with shell.store(url, retry=FAST) as store:
        with pytest.raises(ConnectionFailed) as info:
            await store.service("x").create({"a": 1})  # never reached the server: safe to repeat, even a create
        assert info.value.attempts == 3 and not info.value.maybe_sent
        with pytest.raises(ConnectionFailed):
            await store.service("x").on("created", print)


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
