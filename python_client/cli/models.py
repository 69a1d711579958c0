"""``plume models list|show|download``: the models on a server.

Marcelle's model services (``tfjs-models``, ``onnx-models``, ``keras-models`` with the state of
its server-side conversions), and the model registry's ``models`` service when the server has
one (its ``GET /info`` lists it). A model is named by its ``_id`` or its ``name``; a name that a
Keras model shares with the TF.js/ONNX models converted from it means the Keras model.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..converted import FORMATS, conversions_of
from ..datastore import DataStore
from ..errors import BadRequest, NotFound
from ..remote import MODEL_SERVICES, Remote
from .common import CommandError, connection_parser, open_store, positive, records, report_failures
from .table import dumps, pairs, table, when

REGISTRY = "models"  # the model registry's service, listed when the server has it
KERAS = "keras-models"
#: Fields ``show`` lays out itself; any other field is listed under "other fields".
SHOWN = {"_id", "name", "format", "files", "conversions", "convert", "source", "metadata", "createdAt", "updatedAt"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions of ``plume models``."""
    common = connection_parser()
    common.add_argument("--service", help=f"only this service ({', '.join((*MODEL_SERVICES, REGISTRY))})")
    sub = parser.add_subparsers(dest="action", required=True, metavar="action")
    listing = sub.add_parser("list", parents=[common], help="the newest models first, from every model service")
    listing.add_argument("--limit", type=positive, default=20, help="how many models (default 20)")
    show = sub.add_parser("show", parents=[common], help="one model: files, conversions, metadata")
    show.add_argument("model", help="its id or name")
    download = sub.add_parser("download", parents=[common], help="save a model's files in a folder")
    download.add_argument("model", help="its id or name")
    download.add_argument("--to", type=Path, default=Path("."), help="folder to save into (made if needed; default .)")
    download.add_argument("--format", choices=FORMATS,
                          help="a Keras model's server-side conversion instead of the Keras file")


def run(args: argparse.Namespace) -> int:
    """Run ``plume models <action>``; returns the exit status."""

    def body() -> None:
        with open_store(args) as store:
            services = model_services(store, args.service)
            if args.action == "list":
                _list(store, services, args.limit, args.json)
                return
            service, doc = find_model(store, services, args.model)
            if args.action == "show":
                _show(service, doc, args.json)
            else:
                _download(store, service, doc, args.to, args.format, args.json)

    return report_failures("plume models", args, body)


def model_services(store: DataStore, only: str | None) -> list[str]:
    """The model services the server has (``only`` when given: CommandError if it has not)."""
    present = set(store.info().get("services", []))
    known = [s for s in (*MODEL_SERVICES, REGISTRY) if s in present]
    if only is None:
        return known
    if only not in known:
        raise CommandError(f"{store.location.rstrip('/')} has no model service '{only}' (it has: "
                           f"{', '.join(known) or 'none'})")
    return [only]


# ---------------------------------------------------------------------------- describing a model
def status_of(service: str, doc: dict[str, Any]) -> str:
    """What a model's row says of its state: a Keras model's conversions, where a converted model
    comes from, a registry model's stage."""
    if service == KERAS:
        conversions = conversions_of(doc)
        return ", ".join(f"{fmt} {(c or {}).get('status', '?')}" for fmt, c in conversions.items()) or "-"
    if doc.get("source"):
        return f"from {KERAS} {doc['source']}"
    return str(doc.get("stage") or doc.get("status") or "-")


def format_of(service: str, doc: dict[str, Any]) -> Any:
    return doc.get("format") or doc.get("framework") or (service[: -len("-models")] if service != REGISTRY else None)


def name_of(doc: dict[str, Any]) -> str:
    name = str(doc.get("name") or "-")
    return f"{name} v{doc['version']}" if doc.get("version") is not None else name


# ---------------------------------------------------------------------------- list
def _list(store: DataStore, services: list[str], limit: int, as_json: bool) -> None:
    rows: list[tuple[str, dict[str, Any]]] = []
    totals = 0
    for name in services:
        page = store.service(name).find({"query": {"$sort": {"createdAt": -1}, "$limit": limit}})
        found = records(page)
        totals += page.get("total", len(found)) if isinstance(page, dict) else len(found)
        rows += [(name, doc) for doc in found]
    rows.sort(key=lambda item: str(item[1].get("createdAt") or ""), reverse=True)
    rows = rows[: limit]
    if as_json:
        print(dumps([{"service": s, **doc} for s, doc in rows]))
        return
    print(table(["SERVICE", "NAME", "FORMAT", "STATUS", "CREATED (UTC)", "ID"],
                [[s, name_of(d), format_of(s, d), status_of(s, d), when(d.get("createdAt")), d.get("_id")]
                 for s, d in rows]))
    if not rows:
        print("(no models)")
    elif totals > len(rows):
        print(f"({len(rows)} of {totals} models: --limit N or --service S for more)")


# ---------------------------------------------------------------------------- finding a model
def find_model(store: DataStore, services: list[str], ref: str) -> tuple[str, dict[str, Any]]:
    """The model with id ``ref``, else named ``ref`` (CommandError when none is, or several are)."""
    for name in services:
        try:
            return name, store.service(name).get(ref)
        except (NotFound, BadRequest):
            continue
    named = [(name, doc) for name in services
             for doc in records(store.service(name).find({"query": {"name": ref, "$sort": {"createdAt": -1},
                                                                      "$limit": 5}}))]
    keras_ids = {str(doc.get("_id")) for name, doc in named if name == KERAS}
    # Models converted from a Keras model carry its name: the name means the Keras model.
    named = [(name, doc) for name, doc in named if str(doc.get("source")) not in keras_ids or name == KERAS]
    if len(named) == 1:
        return named[0]
    where = store.location.rstrip("/")
    if not named:
        raise CommandError(f"no model '{ref}' on {where} (no model in {', '.join(services) or 'no service'} has "
                           "that id or name; plume models list shows them)")
    found = ", ".join(f"{name} {doc.get('_id')}" for name, doc in named)
    raise CommandError(f"{len(named)} models are named '{ref}' ({found}): name one by its id")


# ---------------------------------------------------------------------------- show
def _show(service: str, doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(dumps({"service": service, **doc}))
        return
    print(pairs([("model", name_of(doc)), ("id", doc.get("_id")), ("service", service),
                 ("format", format_of(service, doc)), ("status", status_of(service, doc)),
                 ("source", doc.get("source")), ("created", when(doc.get("createdAt"))),
                 ("updated", when(doc.get("updatedAt")))], indent=""))
    files = file_names(doc)
    print(f"\nfiles ({len(files)})")
    print(pairs((name, ref) for name, ref in files))
    conversions = conversions_of(doc)
    if conversions:
        print("\nconversions")
        print(pairs((fmt, _conversion(c)) for fmt, c in conversions.items()))
    if isinstance(doc.get("metadata"), dict):
        print("\nmetadata")
        print(pairs(doc["metadata"].items()))
    other = [(k, v) for k, v in doc.items() if k not in SHOWN]
    if other:
        print("\nother fields")
        print(pairs(other))


def _conversion(state: Any) -> str:
    if not isinstance(state, dict):
        return str(state)
    detail = state.get("modelId") or state.get("error")
    return f"{state.get('status', '?')}" + (f": {detail}" if detail else "")


def file_names(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """A model's ``files``: (original name, stored reference) pairs, as the upload replied."""
    files = doc.get("files")
    if not isinstance(files, list):
        return []
    return [(str(f[0]), str(f[1])) for f in files if isinstance(f, list) and len(f) == 2]


# ---------------------------------------------------------------------------- download
def _download(store: DataStore, service: str, doc: dict[str, Any], folder: Path, fmt: str | None,
              as_json: bool) -> None:
    doc_id = str(doc.get("_id"))
    if fmt is not None and service == KERAS:
        state = conversions_of(doc).get(fmt)
        status = state.get("status") if isinstance(state, dict) else None
        if status != "done":
            why = "was not asked for" if status is None else f"is {status}"
            if status == "error":
                why += f": {state.get('error')}"  # type: ignore[union-attr]
            raise CommandError(f"the {fmt} conversion of {KERAS} {doc_id} {why} (plume models show {doc_id})")
        written = Remote(store.location, "keras", store=store).download_converted(doc_id, fmt, folder)
    else:
        own = format_of(service, doc)
        if fmt is not None and fmt != own:
            raise CommandError(f"--format {fmt} is for {KERAS} (their server-side conversions); {service} {doc_id} "
                               f"is already {own}")
        files = file_names(doc)
        if not files:
            raise CommandError(f"{service} {doc_id} has no files to download")
        folder.mkdir(parents=True, exist_ok=True)
        model = store.service(service)
        # Path(name).name: a file name from the server never leads outside the folder.
        written = [model.download(doc_id, name, folder / Path(name).name) for name, _ in files]
    print(dumps([str(p) for p in written]) if as_json else "\n".join(str(p) for p in written))
