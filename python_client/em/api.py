"""The module-level functions of ``em`` (the seed API): login, runs, artifacts, uploads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import default
from ..auth import AUTH_PATH as AUTH_SERVICE
from ..current_run import run_started
from ..datastore import DataStore
from ..errors import PlumeError
from . import checks, local
from .artifact import Artifact
from .artifact_sync import ArtifactUpload
from .download import download_artifact, download_run, find_placed
from .login_errors import login_error
from .platform_info import git_info, platform_info
from .run import Run
from .sync import RunUpload

CONFIG_KEYS = ("name", "hparams", "labels", "description", "auto_upload", "folder", "make_folder", "conflict_strategy")


def login(ais_host: str | None = None, api_key: str | None = None, timeout: int | None = None) -> None:
    """Logs in to the Plume server: checks that it answers (and accepts ``api_key``), then makes it
    the process-wide default connection (:func:`python_client.connect`) that every seed-API module
    uses. A failed login leaves the previous default connection as it was.

    Args:
        ais_host: The server's URL (default ``$PLUME_URL``, else ``http://localhost:3030``).
        api_key: An API key (default ``$PLUME_API_KEY``).
        timeout: Seconds to wait for the server on each call.

    Raises:
        requests.HTTPError: the login failed; the error is also the client's own (see
            :mod:`python_client.em.login_errors`): ``ConnectionFailed`` (nothing answers at the URL),
            ``NoPlumeServer`` (what answers is no Plume server), ``NotAuthenticated`` (the key is
            refused), ``RequestTimeout``...
    """
    store = default.new_store(ais_host, api_key, timeout=timeout)
    try:
        info = store.info()
        key = store.credentials.api_key
        if key and AUTH_SERVICE in info.get("services", []):
            # /info answers anyone: a key is checked by logging in with it (the key stays the
            # credential, the token is not kept: it would expire in a long training).
            store.service(AUTH_SERVICE).create({"strategy": "api-key", "apiKey": key})
    except PlumeError as exc:
        store.close()
        raise login_error(exc) from exc
    except BaseException:
        store.close()
        raise
    default.use(store)


def logout() -> None:
    """Logs out: the default connection is closed (the next use makes one from the environment)."""
    default.disconnect()


def _store() -> DataStore:
    return default.default_store()


def create_run(config_path: str | None = None, name: str = "default", hparams: dict[str, Any] | None = None,
               labels: Sequence[str] | None = None, description: str = "", auto_upload: bool = False,
               folder: str = "default", make_folder: bool = False, conflict_strategy: str = "new", *,
               folder_path: str | None = None) -> Run:
    """Creates and initializes a new Run, in a new folder under ``$EM_RUN_PARENT_DIR`` (default
    ``.em/runs``) named ``<name>_<yymmdd_hhmmss>_<6 random>`` (also its ``alternative_name``).

    Args:
        config_path: A YAML file whose values (``name``, ``hparams``, ``labels``, ``description``,
            ``auto_upload``, ``folder``, ``make_folder``, ``conflict_strategy``) take precedence
            over the arguments.
        name, hparams, labels, description: The run's.
        auto_upload: Upload the run and its data in the background (a server that is slow or down
            never blocks or fails the script; ``em.upload`` completes it later).
        folder: The server folder (relative paths are under ``/<user>/``); with ``auto_upload`` only.
        make_folder: Make the folder (and its parents) when missing, else the upload fails.
        conflict_strategy: ``skip``, ``error``, ``new`` or ``replace`` when the folder has a run of
            this name.
        folder_path: ``folder`` under the name the seed's examples use (ValueError with another
            ``folder``).
    """
    if folder_path is not None:
        if folder not in ("default", folder_path):
            raise ValueError(f"folder={folder!r} and folder_path={folder_path!r}: give one (folder_path is "
                             "another name of folder)")
        folder = folder_path
    args = {"name": name, "hparams": hparams, "labels": labels, "description": description,
            "auto_upload": auto_upload, "folder": folder, "make_folder": make_folder,
            "conflict_strategy": conflict_strategy}
    if config_path is not None:
        args.update(_read_config(config_path))
    checks.conflict_strategy(args["conflict_strategy"])
    run = Run({"name": args["name"], "labels": args["labels"], "description": args["description"] or ""},
              hparams=args["hparams"], platform=platform_info(), git=git_info())
    if args["auto_upload"]:
        run.start_upload(_store(), str(args["folder"]), bool(args["make_folder"]), str(args["conflict_strategy"]))
    run_started(run)
    return run


def _read_config(path: str) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of create_run arguments")
    unknown = set(data) - set(CONFIG_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(CONFIG_KEYS)}")
    return data


def load_run(path: str, auto_upload: bool = False, folder: str = "default", make_folder: bool = False,
             conflict_strategy: str = "new") -> Run:
    """Loads a Run from a local folder, else from the server (``/<user>/<folder>/<run name>``, or
    relative to ``/<user>/``); a server run is downloaded into a new local folder with its
    hyperparameters, metrics and associations. With ``auto_upload`` it is then kept up to date on
    the server as it changes (see :func:`create_run` for the other arguments).

    Raises:
        RuntimeError: neither a local run folder nor a server run at ``path``.
    """
    checks.conflict_strategy(conflict_strategy)
    run: Run | None = None
    if Path(path, local.RUN_FILE).is_file():
        run = Run.open(path)
    else:
        doc, where = _server_lookup("runs", path)
        if doc is None:
            raise RuntimeError(f"no run at {path!r}: not a local run folder ({Path(path).resolve()}), nor a run "
                               f"on the server ({where})")
        run = download_run(_store(), doc)
    if auto_upload:
        run.start_upload(_store(), folder, make_folder, conflict_strategy)
    run_started(run)  # a finished run loaded for reading is never current
    return run


def create_artifact(name: str, labels: Sequence[str] | None = None, description: str = "") -> Artifact:
    """Creates and initializes a new Artifact, in a new folder under ``$EM_ARTIFACT_PARENT_DIR``
    (default ``.em/artifacts``)."""
    return Artifact({"name": name, "labels": labels, "description": description})


def load_artifact(path: str) -> Artifact:
    """Loads an Artifact from a local folder, else from the server (objects downloaded, each
    file's SHA-256 checked: ``ChecksumMismatch`` when one arrives corrupted).

    Raises:
        RuntimeError: neither a local artifact folder nor a server artifact at ``path``.
    """
    if Path(path, checks.ARTIFACT_FILE).is_file():
        return Artifact.open(path)
    doc, where = _server_lookup("artifacts", path)
    if doc is None:
        raise RuntimeError(f"no artifact at {path!r}: not a local artifact folder ({Path(path).resolve()}), nor an "
                           f"artifact on the server ({where})")
    return download_artifact(_store(), doc)


def _server_lookup(service: str, path: str) -> tuple[dict[str, Any] | None, str]:
    """The server's record at ``path`` and where it was looked for (for the error message)."""
    store = _store()
    where = f"{store.location.rstrip('/')}/{service} at {path!r}"
    return find_placed(store, service, path), where


def upload(path: str, folder: str = "default", make_folder: bool = False, conflict_strategy: str = "new") -> None:
    """Upload local Runs or Artifacts: ``path`` is a run's or an artifact's folder, or a folder
    holding several. Runs already on the server are completed where they are (``folder`` is for
    the others); what the server has already is not sent again.

    Raises:
        FileNotFoundError: ``path`` holds no run nor artifact.
    """
    checks.conflict_strategy(conflict_strategy)
    root = Path(path)
    if _kind(root):
        folders = [root]
    elif root.is_dir():
        folders = sorted(p for p in root.iterdir() if p.is_dir() and _kind(p))
    else:
        folders = []
    if not folders:
        raise FileNotFoundError(f"{path} holds no run nor artifact")
    store = _store()
    for item in folders:
        if _kind(item) == "run":
            RunUpload(Run.open(item), store, folder, make_folder, conflict_strategy).step()
        else:
            ArtifactUpload(Artifact.open(item), store, folder, make_folder, conflict_strategy).run()


def _kind(folder: Path) -> str | None:
    if (folder / local.RUN_FILE).is_file():
        return "run"
    if (folder / checks.ARTIFACT_FILE).is_file():
        return "artifact"
    return None


__all__ = ["create_artifact", "create_run", "load_artifact", "load_run", "login", "logout", "upload"]
