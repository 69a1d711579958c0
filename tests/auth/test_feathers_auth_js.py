"""The official ``@feathersjs/authentication-client`` logs in, re-authenticates, uses an API key and logs
out over REST and socket.io against a real ``plume serve``, and hears only the events it may."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.auth.support import PASSWORD, SECRET
from tests.support.server import PlumeProcess

JS_DIR = Path(__file__).resolve().parents[1] / "js"
CONFIG = f"""
[authentication]
enabled = true
secret = "{SECRET}"
signup = "open"
"""

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (JS_DIR / "node_modules" / "@feathersjs" / "authentication-client").is_dir(),
    reason="needs node and `npm install` in tests/js",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with PlumeProcess(tmp_path_factory.mktemp("feathers-auth"), config=CONFIG) as srv:
        ids = {}
        for email in ("ann@example.org", "bob@example.org"):
            resp = requests.post(f"{srv.url}/users", json={"email": email, "password": PASSWORD}, timeout=10)
            assert resp.status_code == 201, resp.text
            ids[email] = resp.json()["_id"]
        login = {"strategy": "local", "email": "ann@example.org", "password": PASSWORD}
        token = requests.post(f"{srv.url}/authentication", json=login, timeout=10).json()["accessToken"]
        key = requests.post(f"{srv.url}/api-keys", json={"name": "js"}, timeout=10,
                            headers={"Authorization": f"Bearer {token}"}).json()["key"]
        proc = subprocess.run(["node", "feathers_auth_test.js", srv.url, "ann@example.org", PASSWORD, key,
                               "bob@example.org", PASSWORD], cwd=JS_DIR, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{proc.stderr}\n{proc.stdout}"
        assert "Traceback" not in srv.log()
        return {**json.loads(proc.stdout), "ids": ids}


@pytest.mark.parametrize("via", ["rest", "socket"])
def test_login_reauthenticate_logout(report: dict[str, Any], via: str) -> None:
    r, ann = report[via], report["ids"]["ann@example.org"]
    assert r["anonymousFind"]["error"] == {"name": "NotAuthenticated", "code": 401, "message": "Not authenticated",
                                           "rebuiltClass": True}
    assert r["badLogin"]["error"]["name"] == "NotAuthenticated" and r["badLogin"]["error"]["rebuiltClass"]
    assert r["login"] == {"strategy": "local", "userId": ann, "hasToken": True,
                          "userKeys": ["_id", "createdAt", "email", "role", "updatedAt", "username"]}
    assert r["created"]["userId"] == ann
    assert r["found"]["total"] == 1 and r["found"]["data"][0]["_id"] == r["created"]["_id"]
    assert r["reAuthenticated"] == {"strategy": "jwt", "userId": ann}
    assert r["stillWorks"]["ok"] is True
    assert r["afterLogout"]["ok"] is False and r["afterLogout"]["error"]["code"] == 401
    assert r["apiKey"] == {"strategy": "api-key", "userId": ann}
    assert r["keyCreate"]["ok"] and r["keyCreate"]["result"]["userId"] == ann


def test_events_follow_permissions(report: dict[str, Any]) -> None:
    # "end" is the last note, public: heard by both, after everything they heard.
    assert report["events"] == {"mine": ["mine-private", "theirs-public", "end"],
                                "theirs": ["theirs-private", "theirs-public", "end"]}
