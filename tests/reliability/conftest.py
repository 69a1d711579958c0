"""One ``plume serve`` process with authentication on, shared by the fuzzing tests of a module,
with the credentials of a signed-up editor (signup is open, so fuzzed calls can make users)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.server import PlumeProcess

SECRET = "fuzz-secret-0123456789abcdef0123456789"
CONFIG = f"""
max_body = 200000
header_timeout = 5
body_timeout = 5

[authentication]
enabled = true
secret = "{SECRET}"
signup = "open"

[permissions.roles]
anonymous = [{{ actions = ["read"], where = {{ public = true }} }}]

[uploads]
max_size = 100000
max_parts = 20
"""
#: Examples per fuzzing test (the suite stays within a few minutes; raise it for a longer hunt).
EXAMPLES = int(os.environ.get("PLUME_FUZZ_EXAMPLES", "300"))


@dataclass
class FuzzServer:
    srv: PlumeProcess
    token: str

    @property
    def url(self) -> str:
        return self.srv.url


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    with PlumeProcess(tmp_path_factory.mktemp("fuzz"), config=CONFIG) as srv:
        user = {"email": "fuzzer@example.org", "password": "fuzzer password"}
        assert requests.post(f"{srv.url}/users", json=user, timeout=10).status_code == 201
        login = requests.post(f"{srv.url}/authentication", json={"strategy": "local", **user}, timeout=10)
        yield FuzzServer(srv, login.json()["accessToken"])
        log = srv.log()
        assert "Traceback" not in log and " ERROR " not in log, log[-5000:]


def server_log_clean(server: FuzzServer) -> None:
    """Fail now (not only at the end of the module) when the server logged an error."""
    log = server.srv.log()
    assert "Traceback" not in log and " ERROR " not in log, log[-5000:]
    assert Path(server.srv.log_path).exists()
