"""The dashboard's build manifest: which sources the shipped build was made from.

``scripts/build-dashboard`` (``npm run build`` in ``dashboard/``) builds the app into ``static/``,
then runs this module as a script (``python3 services/dashboard/manifest.py --write``), which
writes ``static/manifest.json`` with the SHA-256 of the sources. A test recomputes it from the
checkout (no Node needed) and fails when the committed build is older than its sources.

This module uses the standard library only: it runs as a plain script, outside the package.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
MANIFEST = STATIC / "manifest.json"
#: What the build depends on, relative to the dashboard's source folder.
SOURCES = ("index.html", "package.json", "package-lock.json", "vite.config.js", "src")


def source_files(root: Path) -> list[Path]:
    """The files of :data:`SOURCES` under ``root`` (the ``dashboard/`` folder), in a stable order."""
    files: list[Path] = []
    for name in SOURCES:
        path = root / name
        if path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"dashboard source {path} is missing")
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def source_digest(root: Path) -> str:
    """SHA-256 over each source file's relative path and bytes (line endings as stored)."""
    digest = hashlib.sha256()
    for path in source_files(root):
        name = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def build_files(static: Path = STATIC) -> list[str]:
    """The built files (relative paths), the manifest itself left out."""
    return sorted(p.relative_to(static).as_posix() for p in static.rglob("*")
                  if p.is_file() and p.name != MANIFEST.name)


def read_manifest(static: Path = STATIC) -> dict[str, object]:
    """The manifest of the shipped build ({} when there is none)."""
    path = static / MANIFEST.name
    return json.loads(path.read_text()) if path.is_file() else {}


def write_manifest(root: Path, static: Path = STATIC) -> dict[str, object]:
    """Write ``static/manifest.json`` for a build just made from ``root``."""
    manifest = {"sources": source_digest(root), "files": build_files(static)}
    (static / MANIFEST.name).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=HERE.parents[1] / "dashboard", help="the dashboard sources")
    parser.add_argument("--write", action="store_true", help="write static/manifest.json (after a build)")
    args = parser.parse_args()
    if args.write:
        print(json.dumps(write_manifest(args.root)))
    else:
        print(source_digest(args.root))


if __name__ == "__main__":
    main()
