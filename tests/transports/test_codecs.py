"""The transports' fast helpers answer exactly as the code they replace: data depth, binary test."""

from __future__ import annotations

import random
from typing import Any

import pytest
from socketio.packet import Packet

from backend.errors import BadRequest
from backend.transports.common import check_depth
from backend.transports.sio_json import FeathersPacket


def reference_depth(data: Any, limit: int) -> None:
    """The original check: every value (scalars too) at depth > limit is refused."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise BadRequest("too deep")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def random_value(rnd: random.Random, depth: int = 0) -> Any:
    r = rnd.random()
    if depth > 7 or r < 0.3:
        return rnd.choice([1, "a", None, b"x", 2.5, True, bytearray(b"y"), (1, b"z")])
    if r < 0.65:
        return [random_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {str(i): random_value(rnd, depth + 1) for i in range(rnd.randrange(4))}


def refused(fn: Any, *args: Any) -> bool:
    try:
        fn(*args)
    except BadRequest:
        return True
    return False


def test_depth_check_matches_the_reference() -> None:
    rnd = random.Random(3)
    for _ in range(5000):
        value = random_value(rnd)
        for limit in (0, 1, 2, 3, 6):
            assert refused(check_depth, value, limit) == refused(reference_depth, value, limit), (value, limit)


@pytest.mark.parametrize("depth,refuse", [(63, False), (64, False), (65, True)])
def test_depth_limit_counts_scalars_too(depth: int, refuse: bool) -> None:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    assert refused(check_depth, value) is refuse
    empty: Any = {}
    for _ in range(64):
        empty = [empty]
    assert not refused(check_depth, empty)  # an empty container at the limit holds nothing too deep


def test_binary_test_matches_python_socketio() -> None:
    rnd = random.Random(4)
    for _ in range(5000):
        value = random_value(rnd)
        assert FeathersPacket.data_is_binary(value) == Packet.data_is_binary(value), value
