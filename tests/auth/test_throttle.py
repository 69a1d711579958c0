"""Login throttling: per address and per (address, email), 429 while over the limit, then allowed
again; the email alone only slows logins down, so nobody can lock another user out."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from backend.auth import Authenticator
from backend.auth.throttle import MAX_SLOWDOWN, SLOWDOWN_STEP, LoginThrottle
from backend.errors import TooManyRequests
from tests.auth.support import PASSWORD, SECRET, auth_server


def test_sliding_window() -> None:
    now = [0.0]
    t = LoginThrottle(3, 10, clock=lambda: now[0])
    for _ in range(3):
        t.check("ip:a")
        t.failed("ip:a", "email:x")
    with pytest.raises(TooManyRequests) as err:
        t.check("ip:b", "email:x")
    assert err.value.data == {"retryAfter": 10}
    now[0] = 5
    with pytest.raises(TooManyRequests):
        t.check("ip:a")
    now[0] = 10.5  # the first failures aged out
    t.check("ip:a", "email:x")
    t.failed("email:y")
    t.succeeded("email:y")
    t.check("email:y")


CONFIG = f"""
[authentication]
enabled = true
secret = "{SECRET}"
throttle = {{ max_failures = 3, window = 300 }}
"""


async def post_login(http: aiohttp.ClientSession, url: str, email: str, password: str) -> int:
    async with http.post(f"{url}/authentication", json={"strategy": "local", "email": email,
                                                        "password": password}) as resp:
        body = await resp.json()
        if resp.status == 429:
            assert body["name"] == "TooManyRequests" and body["data"]["retryAfter"] >= 1
        return resp.status


async def test_repeated_failures_answer_429(tmp_path: Path) -> None:
    async with auth_server(tmp_path, config=CONFIG) as (srv, _), aiohttp.ClientSession() as http:
        statuses = [await post_login(http, srv.url, "editora@example.org", "wrong password") for _ in range(3)]
        assert statuses == [401, 401, 401]
        # locked: even the right password, and (same address) other accounts
        assert await post_login(http, srv.url, "editora@example.org", PASSWORD) == 429
        assert await post_login(http, srv.url, "editorb@example.org", PASSWORD) == 429
        # Once the window has passed (the throttle's clock moved on, not the test's), allowed again.
        throttle = srv.app.extensions.get(Authenticator).throttle
        throttle._clock = lambda: time.monotonic() + 300
        assert await post_login(http, srv.url, "editora@example.org", PASSWORD) == 201


async def test_forwarded_for_is_trusted_only_when_configured(tmp_path: Path) -> None:
    async with auth_server(tmp_path, config=CONFIG + "trust_forwarded_for = true\n") as (srv, _), \
            aiohttp.ClientSession() as http:
        for i in range(3):  # failures for three emails from one client behind the proxy
            async with http.post(f"{srv.url}/authentication", headers={"X-Forwarded-For": "1.2.3.4"}, json={
                    "strategy": "local", "email": f"u{i}@example.org", "password": "nope nope"}) as resp:
                assert resp.status == 401
        async with http.post(f"{srv.url}/authentication", headers={"X-Forwarded-For": "1.2.3.4"}, json={
                "strategy": "local", "email": "editora@example.org", "password": PASSWORD}) as resp:
            assert resp.status == 429
        async with http.post(f"{srv.url}/authentication", headers={"X-Forwarded-For": "5.6.7.8"}, json={
                "strategy": "local", "email": "editora@example.org", "password": PASSWORD}) as resp:
            assert resp.status == 201  # another client behind the same proxy


async def test_a_burst_of_parallel_guesses_is_throttled_too(tmp_path: Path) -> None:
    """Checking a password is slow: attempts in flight count, so a burst of parallel guesses gets
    no more tries than the limit (it once got all of them, the right one included)."""
    async with auth_server(tmp_path, config=CONFIG) as (srv, _), aiohttp.ClientSession() as http:
        guesses = [f"guess number {i}" for i in range(20)] + [PASSWORD]
        statuses = await asyncio.gather(*(post_login(http, srv.url, "editora@example.org", g) for g in guesses))
        assert statuses.count(401) <= 3 and statuses.count(429) >= 18 and 201 not in statuses[:20]


def test_attempts_in_flight_count_until_they_end() -> None:
    t = LoginThrottle(2, 10, clock=lambda: 0.0)
    with t.attempt("ip:a", "email:x"), t.attempt("ip:a", "email:x"):
        with pytest.raises(TooManyRequests):
            t.check("ip:a")
    with pytest.raises(TooManyRequests):  # both failed
        t.check("email:x")
    t2 = LoginThrottle(2, 10, clock=lambda: 0.0)
    with t2.attempt("ip:a", "email:x") as attempt:
        attempt.succeeded()
    t2.check("ip:a", "email:x")  # a success is no failure, and nothing stays in flight


async def test_failures_from_another_address_do_not_lock_the_user_out(tmp_path: Path) -> None:
    """An attacker failing on a victim's email, from their own address, locks only themselves."""
    async with auth_server(tmp_path, config=CONFIG + "trust_forwarded_for = true\n") as (srv, _), \
            aiohttp.ClientSession() as http:

        async def login_from(address: str, password: str) -> int:
            async with http.post(f"{srv.url}/authentication", headers={"X-Forwarded-For": address}, json={
                    "strategy": "local", "email": "editora@example.org", "password": password}) as resp:
                return resp.status

        assert [await login_from("6.6.6.6", "wrong password") for _ in range(4)] == [401, 401, 401, 429]
        assert await login_from("6.6.6.6", PASSWORD) == 429  # the attacker's own address is locked
        assert await login_from("1.2.3.4", PASSWORD) == 201  # the victim logs in from theirs


def test_the_email_alone_slows_down_and_never_locks() -> None:
    t = LoginThrottle(3, 10, clock=lambda: 0.0)
    delays = []
    for i in range(12):  # one failure from each of many addresses
        with t.attempt(f"ip:{i}", f"pair:{i}|x", slow="email:x") as attempt:
            delays.append(attempt.delay)
    assert delays[:3] == [0.0, 0.0, 0.0]
    assert delays[3:5] == [SLOWDOWN_STEP, 2 * SLOWDOWN_STEP] and max(delays) == MAX_SLOWDOWN
    with t.attempt("ip:new", "pair:new|x", slow="email:x") as attempt:  # never a 429 for the email
        attempt.succeeded()
    with t.attempt("ip:other", "pair:other|x", slow="email:x") as attempt:
        assert attempt.delay == 0.0  # a success forgot the email's failures
