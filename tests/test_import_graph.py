"""No runtime import cycle in the project's packages (function-local imports included).

A cycle makes the import order matter: whichever module is imported first sees the other half
initialised, and a later edit breaks at import time in another place. ``tests.import_graph``
reads the packages' source; nothing here imports them.
"""

from __future__ import annotations

from pathlib import Path

from tests.import_graph import cycles, import_graph

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("backend", "services", "python_client", "keras_callback")


def test_the_packages_have_no_import_cycle() -> None:
    assert cycles(import_graph(REPO, PACKAGES)) == []


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_function_local_import_closes_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .b import f\n",
        "pkg/b.py": "def f():\n    from pkg import a\n    return a\n",
        "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import x\n",
    })
    graph = import_graph(tmp_path, ["pkg"])
    assert graph["pkg.b"] == {"pkg.a"} and graph["pkg.c"] == set()  # a type-checking import never runs
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_a_cycle_through_a_package_init_counts(tmp_path: Path) -> None:
    """Importing ``pkg.sub.x`` runs ``pkg/sub/__init__.py``: a cycle through what it imports is one."""
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/top.py": "from pkg.sub.x import y\n",
        "pkg/sub/__init__.py": "from .z import w\n",
        "pkg/sub/x.py": "y = 1\n",
        "pkg/sub/z.py": "from ..top import y\nw = y\n",
    })
    graph = import_graph(tmp_path, ["pkg"])
    assert graph["pkg.top"] == {"pkg.sub", "pkg.sub.x"}
    assert graph["pkg.sub.x"] == set()  # its own package is initialised before it runs
    assert cycles(graph) == [["pkg.sub", "pkg.sub.z", "pkg.top"]]
