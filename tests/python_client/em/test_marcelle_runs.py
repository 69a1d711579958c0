"""Runs written by Marcelle's Writer have one history too: their per-epoch values as metric points."""

from __future__ import annotations

from pathlib import Path

from python_client import DataStore, Writer
from tests.support.server import PlumeProcess


def test_writer_epochs_become_metric_points(plume: PlumeProcess, tmp_path: Path) -> None:
    writer = Writer("mlp", plume.url, base_log_dir=tmp_path / "logs")
    writer.create_run(run_params={"batch_size": 32})
    writer.train_begin(3)
    for epoch in range(3):
        writer.save_epoch(epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 2.0 / (epoch + 1)})
    writer.train_end(save_checkpoint=False)
    assert writer.wait_for_uploads(30)
    writer.close()
    run_id = writer.run_data["_id"]  # type: ignore[index]
    with DataStore(plume.url) as store:
        points = list(store.service("metrics").items({"run": run_id, "$sort": {"type": 1, "step": 1}}))
    assert [(p["type"], p["key"], p["step"], p["epoch"], p["value"]) for p in points] == [
        ("train", "loss", 0, 0, 1.0), ("train", "loss", 1, 1, 0.5), ("train", "loss", 2, 2, 1 / 3),
        ("val", "loss", 0, 0, 2.0), ("val", "loss", 1, 1, 1.0), ("val", "loss", 2, 2, 2 / 3)]
