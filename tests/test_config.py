"""Settings layers and validation; per-service options, dynamic services included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backend.config import ConfigError, load_settings
from backend.storage.base import Paginate

TOML = """
port = 4000
services = ["people", "runs"]
[services.people]
id = "id"
paginate = false
multi = ["patch", "remove"]
indexes = ["name", ["createdAt", -1]]
[uploads]
max_size = 1000
"""


def test_layers_defaults_file_env_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "plume.toml"
    cfg.write_text("port = 4000\nhost = '0.0.0.0'\nmax_body = 100\n")
    s = load_settings(cfg, {"port": 5000}, environ={"PLUME_HOST": "127.0.0.2", "PLUME_MAX_BODY": "200"})
    assert (s.port, s.host, s.max_body) == (5000, "127.0.0.2", 200)
    assert load_settings(None, {}, environ={}).port == 3030
    assert load_settings(None, {}, environ={}).database_url == "sqlite:///data/plume.sqlite3"


def test_service_tables_and_allow_list(tmp_path: Path) -> None:
    cfg = tmp_path / "plume.toml"
    cfg.write_text("[services]\nallow = ['a', 'b']\n[services.a]\nmulti = true\n[uploads]\nmax_size = 5\n")
    s = load_settings(cfg, environ={})
    assert s.services == ["a", "b"]
    opts = s.adapter_options("a")
    assert opts.multi is True and opts.paginate == Paginate()
    assert s.section("uploads") == {"max_size": 5}
    assert load_settings(None, environ={"PLUME_SERVICES": "x, y"}).services == ["x", "y"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port = 'abc'", "port"),
        ("port = 70000", "port"),
        ("unknown = 1", "unknown setting 'unknown'"),
        ("[services.a]\nmulti = 'yes'", "services.a.multi"),
        ("[services.a]\npaginate = { default = 0 }", "services.a.paginate"),
        ("[services.a]\nbogus = 1", "unknown option"),
        ("[uploads]\n", ""),
        ("port = ", "invalid TOML"),
        ("uploads = 3", "unknown setting .uploads."),
    ],
)
def test_bad_values_fail_loudly(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "plume.toml"
    cfg.write_text(text)
    if not message:
        load_settings(cfg, environ={})
        return
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, environ={})


def test_cli_refuses_a_bad_config_with_a_message(tmp_path: Path) -> None:
    cfg = tmp_path / "plume.toml"
    cfg.write_text("port = 'x'\n")
    proc = subprocess.run([sys.executable, "-m", "backend.cli", "serve", "--config", str(cfg)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "configuration error" in proc.stderr and "port" in proc.stderr


async def test_a_table_no_plugin_reads_stops_the_server(tmp_path: Path) -> None:
    from tests.support.inprocess import running

    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \[uplods\]: no loaded plugin reads them"):
        async with running(tmp_path, config="[uplods]\nmax_size = 3\n"):
            pass


async def test_a_plugin_refusing_its_table_is_named(tmp_path: Path) -> None:
    from tests.support.inprocess import running

    with pytest.raises(ConfigError, match=r"^plugin assets: \[assets\] extensions"):
        async with running(tmp_path, config="[assets]\nextensions = 3\n"):
            pass


@pytest.mark.parametrize(("text", "env", "mode"), [
    ("", {}, "on"),
    ('[services]\ndynamic = "warn"\n', {}, "warn"),
    ("[services]\ndynamic = false\nallow = ['a']\n", {}, "off"),
    ("[services]\ndynamic = true\n", {}, "on"),
    ("", {"PLUME_DYNAMIC_SERVICES": "off"}, "off"),
    ('[services]\ndynamic = "warn"\n', {"PLUME_DYNAMIC_SERVICES": "on"}, "on"),
])
def test_dynamic_services_setting(tmp_path: Path, text: str, env: dict[str, str], mode: str) -> None:
    cfg = tmp_path / "plume.toml"
    cfg.write_text(text)
    assert load_settings(cfg, environ=env).dynamic_services == mode


def test_bad_dynamic_services_setting(tmp_path: Path) -> None:
    cfg = tmp_path / "plume.toml"
    cfg.write_text('[services]\ndynamic = "maybe"\n')
    with pytest.raises(ConfigError, match=r"^services\.dynamic \(from .*\): must be \"on\", \"warn\" or \"off\", "
                                          r"not 'maybe'$"):
        load_settings(cfg, environ={})
    cfg.write_text("[services.dynamic]\npaginate = false\n")  # a table: the options of a service named so
    assert load_settings(cfg, environ={}).service_options == {"dynamic": {"paginate": False}}
