"""A script that ends right after ``update_weights``: its upload finishes before the process exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import python_client
from tests.support.server import REPO, PlumeProcess

SCRIPT = """
import json, sys
import python_client
from python_client import em
from python_client.model import OutputModel
python_client.connect(sys.argv[1])
run = em.create_run(name="exits-at-once")
model = OutputModel(name="exits-at-once")  # made by the run started above
assert model.task == run.id
model.update_weights(sys.argv[2], iteration=1)
print(json.dumps({"model": model.id}))
"""


def test_pending_uploads_finish_at_exit(plume: PlumeProcess, tmp_path: Path) -> None:
    path = tmp_path / "last.bin"
    path.write_bytes(os.urandom(500_000))
    env = {**os.environ, "PLUME_CACHE_DIR": str(tmp_path / "cache"), "TQDM_DISABLE": "1",
           "EM_RUN_PARENT_DIR": str(tmp_path / "runs")}
    done = subprocess.run([sys.executable, "-c", SCRIPT, plume.url, str(path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    model_id = json.loads(done.stdout)["model"]
    assert not path.exists()
    with python_client.DataStore(plume.url) as store:
        (version,) = store.service("model-versions").find({"query": {"model": model_id}})["data"]
        assert version["size"] == 500_000 and store.service("models").get(model_id)["version"] == 1
