"""new_id: BSON ObjectId layout (seconds, per-process random part, counter), unique, fork-safe."""

from __future__ import annotations

import itertools
import os
import re
import time

import pytest
from bson import ObjectId

from backend.storage.base import new_id


def test_ids_are_objectids_of_now_and_unique() -> None:
    before = int(time.time())
    ids = [new_id() for _ in range(20_000)]
    after = int(time.time())
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids) and len(set(ids)) == len(ids)
    assert before <= ObjectId(ids[0]).generation_time.timestamp() <= after
    assert len({i[8:18] for i in ids}) == 1  # one random part per process
    counters = [int(i[18:], 16) for i in ids[:100]]
    assert all((b - a) % (1 << 24) == 1 for a, b in itertools.pairwise(counters))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_has_its_own_random_part() -> None:
    parent = new_id()[8:18]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, new_id()[8:18].encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert len(child) == 10 and child != parent
