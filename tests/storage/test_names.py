"""Storage names: one per service, injective and case-free; legacy tables renamed at start."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.plugins import DYNAMIC_NAME
from backend.query import Query
from backend.storage import open_storage
from backend.storage.base import AdapterOptions
from backend.storage.names import fold, service_name, storage_name
from backend.storage.sqlite import TABLE_PREFIX

NAMES = ["users", "Users", "USERS", "uSERS", "keras-models", "Keras-models", "keras_models", "KERAS_MODELS",
         "a", "A", "_auth_emails", "TrainingSet", "trainingset", "training-set", "x1", "X1"]


def test_storage_names_are_case_free_and_injective() -> None:
    stored = {name: storage_name(name) for name in NAMES}
    for name, enc in stored.items():
        assert enc == enc.lower(), name
        assert service_name(enc) == name
    for a, b in itertools.combinations(NAMES, 2):
        assert stored[a].casefold() != stored[b].casefold(), (a, b)


dynamic_names = st.from_regex(DYNAMIC_NAME, fullmatch=True)
SWAPS = {"-": "_", "_": "-"}


def near(name: str) -> st.SearchStrategy[str]:
    """Valid names close to ``name`` (where collisions hide): letters in the other case, ``-``
    and ``_`` swapped, a character dropped or added; or any other valid name."""
    def respell(flips: list[int]) -> str:
        return "".join(c.swapcase() if f == 1 else SWAPS.get(c, c) if f == 2 else c
                       for c, f in zip(name, flips, strict=True))

    spelled = st.lists(st.integers(0, 2), min_size=len(name), max_size=len(name)).map(respell)
    edited = st.sampled_from([name[:-1], name + "a", name + "A", name + "_", name + "-"])
    return st.one_of(spelled, edited, dynamic_names).filter(DYNAMIC_NAME.fullmatch)


@given(st.data())
def test_distinct_dynamic_names_never_share_a_storage_name(data: st.DataObject) -> None:
    """Any two names a client may make a service under are stored apart, even where names are
    compared without regard to case (SQLite tables); and the storage name gives the name back."""
    a = data.draw(dynamic_names)
    b = data.draw(near(a))
    assert service_name(storage_name(a)) == a
    if a != b:
        assert storage_name(a).casefold() != storage_name(b).casefold()


@given(dynamic_names, st.data())
def test_case_variants_of_a_dynamic_name_are_stored_apart(name: str, data: st.DataObject) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    variant = "".join(c.swapcase() if flip else c for c, flip in zip(name, flips, strict=True))
    assert DYNAMIC_NAME.fullmatch(variant)
    if variant != name:
        assert storage_name(variant).casefold() != storage_name(name).casefold()
        assert fold(variant) == fold(name)  # and the app refuses to make both


def test_lowercase_names_keep_their_storage_name() -> None:
    for name in ("users", "api-keys", "_auth_emails", "tfjs-models", "runs_2"):
        assert storage_name(name) == name


@pytest.mark.parametrize("bad", ["", "a/b", "caf\u00e9", "a.b", "a b", "a~b", "\u0130"])
def test_other_characters_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        storage_name(bad)


def test_fold_groups_confusable_names() -> None:
    assert fold("Keras_Models") == fold("keras-models")
    assert fold("users") != fold("user")


async def test_sqlite_renames_tables_made_before_encoding(tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite3"
    with sqlite3.connect(path) as conn:  # what an older Plume wrote for a service named TrainingSet
        conn.execute('CREATE TABLE "svc_TrainingSet" (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL)')
        conn.execute('CREATE INDEX "ix_svc_TrainingSet_0123456789" ON "svc_TrainingSet" (json_extract(doc, \'$."x"\'))')
        conn.execute("""INSERT INTO "svc_TrainingSet" VALUES ('a', '{"_id": "a", "x": 1}')""")
    storage = open_storage(f"sqlite:///{path}")
    try:
        await storage.open()
        assert await storage.stored_services() == ["TrainingSet"]
        adapter = storage.adapter("TrainingSet", AdapterOptions(indexes=["x"]))
        await adapter.setup(None, "TrainingSet")
        assert [r["_id"] for r in await adapter._find(Query())] == ["a"]
        lower = storage.adapter("trainingset", AdapterOptions())
        await lower.setup(None, "trainingset")
        assert await lower._find(Query()) == []  # its own table, not an alias
        assert await storage.stored_services() == ["TrainingSet", "trainingset"]
        await storage.open()  # idempotent
    finally:
        await storage.close()
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert tables == {TABLE_PREFIX + "~training~set", TABLE_PREFIX + "trainingset"}
    assert all("TrainingSet" not in name for name in indexes)


async def test_mongodb_renames_collections_made_before_encoding() -> None:
    storage = open_storage("mongomock://localhost/legacy_names")
    try:
        await storage.db["TrainingSet"].insert_one({"_id": "a", "x": 1})  # type: ignore[attr-defined]
        await storage.db["plume_files.files"].insert_one({"_id": "f"})  # type: ignore[attr-defined]
        await storage.open()
        assert await storage.stored_services() == ["TrainingSet"]
        adapter = storage.adapter("TrainingSet", AdapterOptions())
        assert [r["_id"] for r in await adapter._find(Query())] == ["a"]
        names = set(await storage.db.list_collection_names())  # type: ignore[attr-defined]
        assert names == {"~training~set", "plume_files.files"}
    finally:
        await storage.close()

