"""The access log's request target: secrets in the query hidden, one bounded field."""

from __future__ import annotations

import pytest

from backend.access_log import MAX_TARGET, redacted_target


@pytest.mark.parametrize(("raw", "logged"), [
    ("/people", "/people"),
    ("/people?age[$gt]=30&$limit=5", "/people?age[$gt]=30&$limit=5"),
    ("/x?accessToken=abc&token=d&apiKey=e&api_key=f&password=g&secret=h", "/x?accessToken=***&token=***&apiKey=***"
     "&api_key=***&password=***&secret=***"),
    ("/socket.io/?EIO=4&transport=polling&sid=Ab12", "/socket.io/?EIO=4&transport=polling&sid=***"),
    ("/x?access%5Ftoken=abc&authorization=Bearer%20x", "/x?access%5Ftoken=***&authorization=***"),  # encoded names
    ("/x?keyword", "/x?keyword"),  # a name without a value hides nothing
    ("/a%0Ab c", "/a%0Ab%20c"),  # no line breaks or spaces in the field
])
def test_targets(raw: str, logged: str) -> None:
    assert redacted_target(raw) == logged


def test_a_long_target_is_cut() -> None:
    logged = redacted_target("/people?" + "a=1&" * 1000)
    assert len(logged) == MAX_TARGET + 3 and logged.endswith("...")
