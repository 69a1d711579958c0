"""The first hour through the Keras callback itself: a URL without its scheme is refused at once
with the fix; a URL with a path lets training finish and says there is no Plume server there.

One subprocess (TensorFlow is slow to import): the test process never imports it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from python_client import DataStore
from tests.python_client.runs import on_disk
from tests.support.server import REPO, PlumeProcess

from .support import TRAIN


def test_the_callback_names_url_mistakes_and_training_goes_on(tmp_path: Path) -> None:
    with PlumeProcess(tmp_path / "server") as srv:
        url = f"{srv.url}/api"
        proc = subprocess.run([*TRAIN, "mistakes", "--url", url, "--no-scheme", "localhost:3030",
                               "--logs", str(tmp_path / "logs")], cwd=REPO, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.splitlines() == [
            "ValueError: the backend URL 'localhost:3030' has no scheme: did you mean 'http://localhost:3030'?",
            "DONE",  # training finished
        ]
        cause = (f"no Plume server at {url}: GET {url}/info answered 404 (No record found for id 'info'); "
                 f"did you mean {srv.url}?")
        lines = [line for line in proc.stderr.splitlines() if line.startswith("Plume: ")]
        assert len(lines) == 1 and lines[0].startswith(f"Plume: {cause}. Training goes on"), proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
        with DataStore(srv.url) as store:
            assert store.service("runs").find()["total"] == 0  # nothing reached the server
    (run_dir,) = (tmp_path / "logs").iterdir()  # the run stays on disk, for plume sync
    assert on_disk(run_dir)["status"] == "success"
