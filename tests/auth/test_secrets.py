"""Passwords, key secrets and tokens never appear in a response, an event or a log line.

A real ``plume serve`` at DEBUG level goes through signup, failed and good logins, API keys over
both transports, a password change, and hostile bodies; then its whole log, every response and
every event received are searched for each secret.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import socketio

from tests.auth.support import SECRET
from tests.support.server import REPO, PlumeProcess

CONFIG = f"""
log_level = "DEBUG"
[authentication]
enabled = true
secret = "{SECRET}"
signup = "open"
"""
ADMIN_PW, USER_PW, WRONG_PW, NEW_PW = "admin-Secret-pw-1", "user-Secret-pw-2", "wrong-Secret-pw-3", "new-Secret-pw-4"


def test_no_secret_leaks(tmp_path: Path) -> None:
    (tmp_path / "plume.toml").write_text(CONFIG)
    cli = subprocess.run([sys.executable, "-m", "backend.cli", "users", "create", "--email", "root@example.org",
                          "--role", "admin", "--config", str(tmp_path / "plume.toml"), "--data-dir", str(tmp_path)],
                         cwd=REPO, env={**os.environ, "PLUME_PASSWORD": ADMIN_PW}, capture_output=True, text=True,
                         timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["role"] == "admin" and ADMIN_PW not in cli.stdout + cli.stderr
    replies: list[str] = []
    events: list[Any] = []
    with PlumeProcess(tmp_path, args=["--config", str(tmp_path / "plume.toml")]) as srv:
        def call(method: str, path: str, **kw: Any) -> requests.Response:
            resp = requests.request(method, f"{srv.url}{path}", timeout=10, **kw)
            replies.append(resp.text)
            return resp

        assert call("POST", "/users", json={"email": "u@example.org", "password": USER_PW}).status_code == 201
        assert call("POST", "/users", json={"email": "u@example.org", "password": USER_PW}).status_code == 409
        assert call("POST", "/authentication", json={"strategy": "local", "email": "u@example.org",
                                                     "password": WRONG_PW}).status_code == 401
        assert call("POST", "/authentication", data=f'{{"strategy": "local", "password": "{WRONG_PW}"',
                    headers={"Content-Type": "application/json"}).status_code == 400  # truncated JSON
        token = call("POST", "/authentication", json={"strategy": "local", "email": "u@example.org",
                                                      "password": USER_PW}).json()["accessToken"]
        admin_token = call("POST", "/authentication", json={"strategy": "local", "email": "root@example.org",
                                                            "password": ADMIN_PW}).json()["accessToken"]
        auth = {"Authorization": f"Bearer {token}"}
        key_reply = call("POST", "/api-keys", json={"name": "ci"}, headers=auth)
        key = key_reply.json()["key"]
        key_secret = key[len("plume_") + 25:]  # plume_<24-hex id>_<secret>
        replies.pop()  # the one reply that shows the key
        assert call("GET", "/api-keys", headers=auth).status_code == 200
        assert call("POST", "/notes", json={"x": 1}, headers={"Authorization": f"Bearer {key}"}).status_code == 201
        assert call("GET", "/notes", headers={"Authorization": f"Bearer {key[:-2]}xx"}).status_code == 401
        user_id = call("GET", "/users", headers=auth).json()["data"][0]["_id"]

        sio = socketio.Client()
        sio.on("*", lambda event, *data: events.append((event, data)))
        sio.connect(srv.url, transports=["websocket"])
        replies.append(json.dumps(sio.call("create", ("authentication", {"strategy": "api-key", "apiKey": key}))))
        replies.append(json.dumps(sio.call("create", ("authentication", {"strategy": "jwt",
                                                                         "accessToken": admin_token}))))
        assert call("PATCH", f"/users/{user_id}", json={"password": NEW_PW}, headers=auth).status_code == 200
        assert call("PATCH", f"/users/{user_id}", json={"password": "short"}, headers=auth).status_code == 400
        assert call("POST", "/authentication", json={"strategy": "local", "email": "u@example.org",
                                                     "password": NEW_PW}).status_code == 201
        deadline = time.monotonic() + 10
        while "users patched" not in [e for e, _ in events]:
            assert time.monotonic() < deadline, events
            time.sleep(0.01)
        sio.disconnect()
        log = srv.log()
    assert "users patched" in [e for e, _ in events]  # the admin connection heard the change
    sent = "\n".join(replies) + json.dumps(events)
    for secret in (ADMIN_PW, USER_PW, WRONG_PW, NEW_PW, key_secret, "$argon2"):
        assert secret not in sent, secret
    for secret in (ADMIN_PW, USER_PW, WRONG_PW, NEW_PW, key_secret, token, admin_token, "$argon2"):
        assert secret not in log, secret
    assert "DEBUG" in log  # the log was verbose, and still clean
