"""The build's one addition to pyproject.toml: the wheel carries the folders the server reads at run
time (``[tool.plume] resources``: ``schemas/``...), copied under ``backend/_resources/`` where
:func:`backend.resources.resource_dir` finds them once installed."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
TARGET = Path("backend") / "_resources"


def resources() -> list[str]:
    """The folders ``[tool.plume] resources`` lists."""
    return list(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["plume"]["resources"])


class BuildWithResources(build_py):
    """``build_py`` that also copies each resource folder into the built package."""

    def run(self) -> None:
        super().run()
        for name in resources():
            source = ROOT / name
            if not source.is_dir():
                raise FileNotFoundError(f"[tool.plume] resources names {name}/, which is not in {ROOT}")
            target = Path(self.build_lib) / TARGET / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildWithResources})
