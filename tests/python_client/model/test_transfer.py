"""``python_client.model.transfer``: transfers from ``PROGRESS_MIN`` bytes show a tqdm progress bar
on stderr (uploads in the upload thread, and downloads), smaller ones none."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import python_client
from python_client.model import OutputModel, transfer


def test_transfers_from_the_threshold_show_a_progress_bar(connected: python_client.DataStore, tmp_path: Path,
                                                          task: str, capfd: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(transfer, "PROGRESS_MIN", 20_000)  # 4 MiB in real life: small files here
    model = OutputModel(task=task, name="progress")
    small, large = tmp_path / "small.bin", tmp_path / "large.bin"
    small.write_bytes(os.urandom(5_000))
    large.write_bytes(os.urandom(50_000))
    capfd.readouterr()
    for path in (small, large):
        model.update_weights(str(path), auto_delete_file=False)
        assert OutputModel.wait_for_uploads(timeout=60)
        assert Path(model.get_weights(raise_on_error=True)).read_bytes() == path.read_bytes()
    err = capfd.readouterr().err  # fd 2: the upload thread's bar is there too
    assert "upload large.bin:" in err and "B/s" in err
    assert "download large.bin:" in err and "/48.8k" in err  # 50,000 bytes, in KiB
    assert "small.bin" not in err  # below the threshold: no bar
