"""Logging helpers: URLs shown without passwords, SQLite databases by their absolute file."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.logs import database_label, safe_url


@pytest.mark.parametrize(("url", "shown"), [
    ("mongodb://ann:secret@db:27017/plume", "mongodb://ann:***@db:27017/plume"),
    ("mongodb://ann:p@ss:w@rd@db/plume?authSource=admin", "mongodb://ann:***@db/plume?authSource=admin"),
    ("mongodb://ann@db/plume", "mongodb://ann@db/plume"),  # a user without a password
    ("mongodb://db/plume", "mongodb://db/plume"),
    ("redis://:secret@cache:6379/0", "redis://:***@cache:6379/0"),
    ("not a url", "not a url"),
])
def test_safe_url(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_database_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_label("sqlite:///data/plume.sqlite3") == f"sqlite:///{tmp_path.resolve().as_posix()}/data/plume.sqlite3"
    assert database_label(f"sqlite:///{tmp_path}/x.db") == f"sqlite:///{tmp_path.resolve().as_posix()}/x.db"
    assert database_label("sqlite://") == "sqlite://"
    assert database_label("mongodb://ann:pw@db/plume") == "mongodb://ann:***@db/plume"
