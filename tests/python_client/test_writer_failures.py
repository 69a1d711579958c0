"""The Writer when things go wrong on a real backend: passing faults are waited out, lasting ones are named.

* A 503 or a timeout on the last pass does not make ``wait_for_uploads`` give up: it retries until
  its deadline and the backend ends with the final state.
* A checkpoint or asset that cannot be uploaded for a lasting reason makes it return False, and
  the warning says which one and why.
* A lasting error on the run itself (401 without an API key, 400 for data the schema refuses) is
  logged once as an ERROR naming the cause; the sender stops retrying; training is not affected.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from python_client import DataStore, Writer
from tests.auth.support import AUTH_CONFIG
from tests.support.server import PlumeProcess

from .faults import FaultProxy, Status
from .runs import on_disk, without_server_fields

BUSY = Status(503, '{"name":"Unavailable","message":"busy","code":503,"className":"unavailable"}',
              {"Content-Type": "application/json"})
PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)


@pytest.fixture
def proxy(plume: PlumeProcess) -> Iterator[FaultProxy]:
    with FaultProxy(plume.url).threaded() as p:
        yield p


def stored(url: str, run_id: str) -> dict[str, Any]:
    with DataStore(url) as store:
        return store.service("runs").get(run_id)  # type: ignore[no-any-return]


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name == "python_client"]


@pytest.mark.parametrize("fault", ["503", "timeout"])
def test_a_passing_failure_at_the_end_is_waited_out(plume: PlumeProcess, proxy: FaultProxy, tmp_path: Path,
                                                    fault: str) -> None:
    writer = Writer("pass", proxy.url, base_log_dir=tmp_path / "logs", timeout=1.0)
    writer.create_run()
    writer.train_begin(2)
    writer.save_epoch(1, {"loss": 0.5})
    assert writer.wait_for_uploads(30)
    assert writer.sender is not None
    # The final patch fails: both attempts of its first pass answer 503, or get no answer in time.
    proxy.then(*([BUSY] * 2 if fault == "503" else ["hang"] * 2))
    writer.save_epoch(2, {"loss": 0.25})
    writer.train_end()
    assert writer.wait_for_uploads(60)  # was False at the first failed pass: the run stayed at "epoch"
    assert writer.sender.failures >= 1
    writer.close()
    disk = on_disk(writer.log_folder)  # type: ignore[arg-type]
    run = stored(plume.url, disk["_id"])
    assert run["status"] == "success" and run["logs"] == {"loss": [0.5, 0.25]}
    assert without_server_fields(run) == disk


def test_items_skipped_for_good_make_the_wait_fail_and_are_named(plume: PlumeProcess, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    notes = tmp_path / "notes.txt"  # the server takes jpg/jpeg/png/wav assets only: a 400
    notes.write_text("x")
    curve = tmp_path / "curve.png"
    curve.write_bytes(PNG)
    writer = Writer("skip", plume.url, base_log_dir=tmp_path / "logs")
    writer.create_run()
    writer.train_begin(1)
    writer.save_epoch(1, {"loss": 1.0}, assets=[notes, curve, tmp_path / "gone.png"])
    writer.train_end()
    with caplog.at_level(logging.WARNING, logger="python_client"):
        assert writer.wait_for_uploads(30) is False
    writer.close()
    (warning,) = [r.getMessage() for r in caplog.records if "is on the backend without" in r.getMessage()]
    assert "asset notes.txt (BadRequest" in warning and "asset gone.png (FileNotFoundError" in warning
    assert "curve.png" not in warning and "plume sync" in warning
    disk = on_disk(writer.log_folder)  # type: ignore[arg-type]
    run = stored(plume.url, disk["_id"])  # the rest is on the backend
    assert run["status"] == "success" and [a["filename"] for a in run["assets"] if a["url"]] == ["curve.png"]


def test_a_run_refused_for_lack_of_credentials(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with PlumeProcess(tmp_path / "server", config=AUTH_CONFIG) as srv, \
            caplog.at_level(logging.WARNING, logger="python_client"):
        writer = Writer("noauth", srv.url, base_log_dir=tmp_path / "logs")
        writer.create_run()
        writer.train_begin(2)
        writer.save_epoch(1, {"loss": 1.0})
        assert writer.wait_for_uploads(None) is False  # no deadline: a 401 is not retried (else this hangs)
        sender = writer.sender
        assert sender is not None and sender.stopped_by is not None and sender.stopped_by.code == 401
        sender._thread.join(60)
        assert not sender.alive  # the sender stopped by itself: nothing is sent again
        failures = sender.failures
        writer.save_epoch(2, {"loss": 0.5})  # training goes on
        writer.train_end()
        assert sender.failures == failures
        writer.close()
    (error,) = errors(caplog)
    assert "authentication failed" in error and "set PLUME_API_KEY or pass api_key" in error
    assert "unavailable" not in error
    assert on_disk(writer.log_folder)["status"] == "success"  # type: ignore[arg-type]


def test_run_data_the_backend_refuses(plume: PlumeProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    writer = Writer("bad", plume.url, base_log_dir=tmp_path / "logs")
    with caplog.at_level(logging.WARNING, logger="python_client"):
        writer.create_run()
        writer.train_begin(1)
        assert writer.wait_for_uploads(30)
        writer.save_epoch(-1, {"loss": 1.0})  # the runs schema wants epoch >= 0: the patch answers 400
        assert writer.wait_for_uploads(30) is False
        writer.close()
    (error,) = errors(caplog)
    assert "the backend rejected the data (BadRequest (400)" in error
    assert stored(plume.url, on_disk(writer.log_folder)["_id"])["status"] == "start"  # type: ignore[arg-type]
