"""Folders of files the server reads at run time (``schemas/``; the dashboard's static files later).

In a checkout they are the top-level folders of the repository. A built wheel carries a copy of
each under ``backend/_resources/`` (``setup.py`` copies the folders that ``[tool.plume] resources``
in ``pyproject.toml`` lists), since an installed package has no repository around it. Code asks
:func:`resource_dir` and never builds such a path itself; a test checks that every folder asked
for is listed.
"""

from __future__ import annotations

from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "_resources"
CHECKOUT = Path(__file__).resolve().parent.parent


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``"schemas"``): the installed copy when there is one, else the checkout's."""
    packaged = PACKAGED / name
    return packaged if packaged.is_dir() else CHECKOUT / name
