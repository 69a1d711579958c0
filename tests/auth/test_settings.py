"""``[authentication]`` and ``[permissions]`` are checked at start; a bad value stops the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backend.auth import auth_settings
from backend.auth.permissions import load_policy
from backend.config import ConfigError, load_settings
from tests.auth.support import SECRET
from tests.support.server import REPO


def settings_of(toml: str, tmp_path: Path, environ: dict[str, str] | None = None) -> object:
    path = tmp_path / "plume.toml"
    path.write_text(toml)
    return load_settings(path, environ=environ or {})


@pytest.mark.parametrize(("toml", "message"), [
    ("[authentication]\nenabled = true\n", "secret is missing"),
    ('[authentication]\nenabled = true\nsecret = "short"\n', "too short"),
    (f'[authentication]\nenabled = true\nsecret = "{SECRET}"\nsignup = "maybe"\n', "signup"),
    (f'[authentication]\nenabled = "yes please"\nsecret = "{SECRET}"\n', "enabled"),
    (f'[authentication]\nenabled = true\nsecret = "{SECRET}"\ntoken_lifetime = 0\n', "token_lifetime"),
    (f'[authentication]\nenabled = true\nsecret = "{SECRET}"\nthrottle = {{ tries = 3 }}\n', "throttle"),
    (f'[authentication]\nenabled = true\nsecret = "{SECRET}"\nsecrte = "x"\n', "unknown option"),
])
def test_bad_authentication_settings(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        auth_settings(settings_of(toml, tmp_path))  # type: ignore[arg-type]


def test_secret_from_the_environment(tmp_path: Path) -> None:
    settings = settings_of("", tmp_path, {"PLUME_AUTH_ENABLED": "true", "PLUME_AUTH_SECRET": SECRET,
                                          "PLUME_AUTH_TRUST_FORWARDED_FOR": "true"})
    auth = auth_settings(settings)  # type: ignore[arg-type]
    assert auth.enabled and auth.secret == SECRET and auth.trust_forwarded_for


@pytest.mark.parametrize(("table", "message"), [
    ({"roles": {"editor": [{"actions": ["fly"]}]}}, "unknown action"),
    ({"roles": {"editor": [{"actions": ["read"], "where": {"$where": "1"}}]}}, "invalid condition"),
    ({"roles": {"editor": [{"actions": ["read"], "where": {"$or": [{"userId": "$user._id"}]}}]}}, "user references"),
    ({"roles": {"editor": [{"actions": ["read"], "where": {"userId": "$user.a.b"}}]}}, "user reference"),
    ({"roles": {"editor": [{"actions": ["read"], "where": {"$limit": 1}}]}}, "no \\$limit"),
    ({"roles": {"editor": {"actions": ["read"]}}}, "list of rules"),
    ({"roles": {"editor": [{"actions": "read", "when": {}}]}}, "a rule is"),
    ({"services": {"runs": []}}, "table of role"),
    ({"owner_field": "$x"}, "owner_field"),
    ({"groups": {}}, "unknown option"),
])
def test_bad_permissions(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_policy(table, signup_open=False)


def test_server_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    (tmp_path / "plume.toml").write_text("[authentication]\nenabled = true\n")
    proc = subprocess.run([sys.executable, "-m", "backend.cli", "serve", "--config", str(tmp_path / "plume.toml"),
                           "--data-dir", str(tmp_path), "--port", "0"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "secret is missing" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_default_role_refused(tmp_path: Path) -> None:
    (tmp_path / "plume.toml").write_text(
        f'[authentication]\nenabled = true\nsecret = "{SECRET}"\ndefault_role = "boss"\n')
    proc = subprocess.run([sys.executable, "-m", "backend.cli", "serve", "--config", str(tmp_path / "plume.toml"),
                           "--data-dir", str(tmp_path), "--port", "0"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "default_role 'boss'" in proc.stderr
