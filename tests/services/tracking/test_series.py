"""The series index: appends to one series side by side, each under the series' lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backend.auth.stores import internal_adapter
from services.tracking.series import SeriesIndex, point_id, series_id
from tests.support.inprocess import running


async def test_appends_to_one_series_side_by_side_all_land_and_free_the_lock(tmp_path: Path) -> None:
    async with running(tmp_path) as srv:
        index = SeriesIndex(await internal_adapter(srv.app, "series-under-test"))
        sid = series_id("run", "train", "loss")
        batches = [[{"_id": point_id(sid, step), "step": step, "epoch": 0, "value": step / 2, "timestamp": f"t{step}"}
                    for step in range(first, first + 10)] for first in range(0, 200, 10)]
        await asyncio.gather(*(index.append(batch) for batch in batches))  # 20 appends wait in turn
        history, held = await index.history(sid)
        assert history.steps.tolist() == list(range(200)) and held == 200
        assert history.values.tolist() == [step / 2 for step in range(200)]
        assert index._locks == {}  # the last append out dropped the series' lock
        await index.append(batches[0])  # and a later one takes a new lock
        assert (await index.history(sid))[1] == 210 and index._locks == {}
