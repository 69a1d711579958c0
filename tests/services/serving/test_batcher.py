"""The batcher on its own: concurrent requests stack into one run, each caller gets its rows,
max_batch holds, rows of other shapes run apart, one failing request fails alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from backend.errors import Unavailable, Unprocessable
from services.serving.batcher import Batcher, Feeds


class Model:
    """Doubles ``x``; refuses rows holding -1; records each run's batch size (its thread waits on a
    gate, so that requests pile up while a batch runs)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, replica: int, feeds: Feeds) -> Sequence[np.ndarray]:
        self.gate.wait(10)
        x = feeds["x"]
        if (x == -1).any():
            raise Unprocessable("the model could not run on this input: -1")
        self.sizes.append(len(x))
        return [x * 2]


async def test_concurrent_requests_share_runs() -> None:
    model = Model()
    batcher = Batcher("t", model, 1, max_batch=8, max_wait=0.002, max_queue=100)
    try:
        model.gate.clear()  # the first request holds the replica while the others arrive
        first = asyncio.create_task(batcher.submit({"x": np.array([[0.0]])}, 1))
        while not batcher._pending and not model.sizes and batcher._free.qsize():
            await asyncio.sleep(0)
        calls = [batcher.submit({"x": np.array([[float(i)], [float(i) + 0.5]])}, 2) for i in range(1, 11)]
        tasks = [asyncio.create_task(c) for c in calls]
        while len(batcher._pending) < 10:
            await asyncio.sleep(0)
        model.gate.set()
        results = await asyncio.gather(first, *tasks)
        for i, out in enumerate(results[1:], start=1):
            assert out[0].tolist() == [[2.0 * i], [2.0 * i + 1.0]]
        assert max(model.sizes) == 8 and sum(model.sizes) == 21  # stacked, never past max_batch
        assert len(model.sizes) < 11
    finally:
        await batcher.close()


async def test_shapes_apart_and_failures_alone() -> None:
    model = Model()
    batcher = Batcher("t", model, 2, max_batch=16, max_wait=0.005, max_queue=100)
    try:
        ok, wide, bad = await asyncio.gather(
            batcher.submit({"x": np.ones((1, 2))}, 1), batcher.submit({"x": np.ones((1, 3))}, 1),
            batcher.submit({"x": -np.ones((1, 2))}, 1), return_exceptions=True)
        assert ok[0].shape == (1, 2) and wide[0].shape == (1, 3)
        assert isinstance(bad, Unprocessable)
        big = await batcher.submit({"x": np.arange(40.0).reshape(40, 1)}, 40)  # split into runs of 16
        assert big[0].ravel().tolist() == [2.0 * i for i in range(40)] and max(model.sizes) <= 16
    finally:
        await batcher.close()
    with pytest.raises(Unavailable):
        await batcher.submit({"x": np.ones((1, 2))}, 1)
