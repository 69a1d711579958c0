"""``plume sync <run dir>...``: send runs kept on disk to a backend (:mod:`python_client.cli` dispatches here).

A run directory holds ``run_data.json`` (written by a Writer / KerasCallback, or by Marcelle's
package); a folder of run directories (``marcelle-logs``) syncs each of them. A run that cannot be
synced (an unreadable ``run_data.json``, a backend that refuses it) is reported and the others are
synced all the same. Exit status: 0 when the backend holds every run, 1 when one could not be read
or sent, or the backend could not be reached or refused something, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import PlumeError
from ..failures import explain
from ..reconcile import SyncReport
from ..remote import Remote
from ..rundir import RUN_FILE
from ..uploader import Uploader

DEFAULT_URL = "http://localhost:3030"


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``plume sync``."""
    parser = argparse.ArgumentParser(prog="plume sync", description=(
        "Upload training runs kept on disk to a Plume backend, idempotently: the backend ends with "
        "the documents a connected run would have made, and a second sync sends nothing."))
    parser.add_argument("runs", nargs="+", type=Path, help="run directories, or folders of run directories")
    parser.add_argument("--url", default=os.environ.get("PLUME_URL", DEFAULT_URL),
                        help=f"backend URL (default $PLUME_URL or {DEFAULT_URL})")
    parser.add_argument("--format", choices=("tfjs", "onnx", "keras"), default="tfjs",
                        help="upload format for checkpoints that do not name one (Marcelle's folders)")
    parser.add_argument("--api-key", default=None, help="API key (default $PLUME_API_KEY)")
    parser.add_argument("--overwrite", action="store_true", help="remove each run from the backend, then upload it")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def run_directories(paths: list[Path]) -> list[Path]:
    """The run directories named by ``paths`` (a folder without ``run_data.json`` contributes its subfolders)."""
    found: list[Path] = []
    for path in paths:
        if (path / RUN_FILE).is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(p for p in path.iterdir() if (p / RUN_FILE).is_file())
    return found


def describe(name: str, report: SyncReport) -> str:
    """One line about what a sync sent."""
    if not report.changed:
        return f"{name}: up to date"
    done = []
    if report.created_run:
        done.append("created the run")
    if report.checkpoints or report.assets:
        done.append(f"uploaded {report.checkpoints} checkpoint(s) and {report.assets} asset(s)")
    if report.patched_run:
        done.append("updated the run")
    return f"{name}: " + ", ".join(done)


def sync_main(argv: list[str] | None = None) -> int:
    """Entry point of ``plume sync``."""
    args = parser().parse_args(argv)
    runs = run_directories(args.runs)
    if not runs:
        print(f"plume sync: no run directory (with {RUN_FILE}) in {', '.join(map(str, args.runs))}", file=sys.stderr)
        return 2
    remote = Remote(args.url, args.format, api_key=args.api_key, timeout=args.timeout)
    uploader = Uploader(remote, progress=not args.quiet)
    status = 0
    failed = 0
    try:
        for run_dir in runs:
            try:
                report = uploader.upload(run_dir, overwrite=args.overwrite)
            except (PlumeError, OSError, ValueError, KeyError) as exc:  # this run only: the others go on
                print(f"plume sync: {run_dir}: {_cause(exc)}", file=sys.stderr)
                status = 1
                failed += 1
                continue
            name = (uploader.run_data or {}).get("name") or run_dir.name
            print(describe(name, report))
            for item, reason in report.skipped.items():
                print(f"plume sync: {run_dir}: {item} not uploaded: {reason}", file=sys.stderr)
                status = 1
    finally:
        remote.close()
    if failed and len(runs) > 1:
        print(f"plume sync: {failed} of {len(runs)} runs not synced", file=sys.stderr)
    return status


def _cause(exc: BaseException) -> str:
    """Why a run could not be synced, in one line."""
    if isinstance(exc, KeyError):
        return f"missing field {exc} (in {RUN_FILE}, or in the backend's answer)"
    if isinstance(exc, PlumeError):
        return explain(exc, api_key_hint="pass --api-key")
    return str(exc)


if __name__ == "__main__":
    sys.exit(sync_main())
