"""The fast path of REST query-string parsing reads every string exactly as the full ``qs`` decoder."""

from __future__ import annotations

import random

import pytest
import qs_codec

from backend.query import _QS_OPTIONS, parse_query_string

CASES = [
    "group=g3&$limit=10", "a=1&&b=2", "=1&b=2", "a", "a=", "a=b=c", "&", "&&a=1&", "a.b=1", " a = 1 ",
    "a=1&b", "toString=1", "__proto__=1&b=2", "constructor=x", "a=1&a=2", "a=1&b=2&a=3", "?a=1",
    "a=1;b=2", "a=café&ü=ö", "$sort=createdAt", "a==", "==", "a=\\x00", "$limit=0&$skip=5&name=run 1",
]


@pytest.mark.parametrize("raw", CASES)
def test_simple_strings_match_qs(raw: str) -> None:
    assert parse_query_string(raw) == dict(qs_codec.decode(raw, _QS_OPTIONS))


def test_random_strings_match_qs() -> None:
    rnd = random.Random(5)
    alphabet = "ab$.=&=& ;?é_-09"
    for _ in range(5000):
        raw = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 16)))
        assert parse_query_string(raw) == dict(qs_codec.decode(raw, _QS_OPTIONS)), raw


def test_strings_needing_the_decoder_still_get_it() -> None:
    assert parse_query_string("a[b]=1&c%5B0%5D=x&d=a+b&e=%24") == {"a": {"b": "1"}, "c": ["x"], "d": "a b", "e": "$"}
