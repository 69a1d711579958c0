"""``plume runs list|show|compare``: the training runs on a server (service ``runs``, Marcelle's format).

A run is named on the command line by its ``name`` (``mlp-3``), its ``_id``, or its ``basename``
(``mlp``: the newest run of that basename). ``--json`` prints what the server answered (``list``,
``show``) or the comparison as data (``compare``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from typing import Any

from ..datastore import DataStore
from ..errors import BadRequest, NotFound
from ..service import Service
from .common import CommandError, connection_parser, open_store, positive, records, report_failures
from .table import dumps, pairs, table, when

SERVICE = "runs"
#: The fields ``list`` asks for (a run's logs can be large).
LIST_FIELDS = ["_id", "name", "basename", "status", "epoch", "epochs", "source", "createdAt"]
#: Fields ``show`` lays out itself; any other field is listed under "other fields".
SHOWN = {"_id", "name", "basename", "status", "epoch", "epochs", "source", "start", "createdAt", "updatedAt",
         "params", "logs", "checkpoints", "assets", "model", "name_confirmed"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions of ``plume runs``."""
    common = connection_parser()
    sub = parser.add_subparsers(dest="action", required=True, metavar="action")
    listing = sub.add_parser("list", parents=[common], help="the newest runs first")
    listing.add_argument("--limit", type=positive, default=20, help="how many runs (default 20)")
    listing.add_argument("--all", action="store_true", help="every run")
    listing.add_argument("--status", help="only runs with this status (success, error, epoch...)")
    listing.add_argument("--basename", help="only runs of this basename")
    show = sub.add_parser("show", parents=[common], help="one run: status, params, last metrics, checkpoints")
    show.add_argument("run", help="its name, id, or basename (the newest run of it)")
    compare = sub.add_parser("compare", parents=[common],
                             help="runs side by side: params (differences marked *) and last metrics")
    compare.add_argument("runs", nargs="+", metavar="run", help="two runs or more (name, id or basename)")
    compare.set_defaults(parser=compare)


def run(args: argparse.Namespace) -> int:
    """Run ``plume runs <action>``; returns the exit status."""
    if args.action == "compare" and len(args.runs) < 2:
        args.parser.error("compare needs two runs or more")

    def body() -> None:
        with open_store(args) as store:
            service = store.service(SERVICE)
            if args.action == "list":
                _list(service, args)
            elif args.action == "show":
                _show(find_run(store, service, args.run), args.json)
            else:
                _compare([find_run(store, service, ref) for ref in args.runs], args.json)

    return report_failures("plume runs", args, body)


# ---------------------------------------------------------------------------- finding a run
def find_run(store: DataStore, service: Service, ref: str) -> dict[str, Any]:
    """The run named ``ref``, else with that id, else the newest of that basename (CommandError if none)."""
    newest_first = {"$sort": {"createdAt": -1}, "$limit": 5}
    page = service.find({"query": {"name": ref, **newest_first}})
    named = records(page)
    if len(named) == 1:
        return named[0]
    if named:
        total = page.get("total", len(named)) if isinstance(page, dict) else len(named)
        ids = ", ".join(str(r.get("_id")) for r in named)
        raise CommandError(f"{total} runs are named '{ref}' ({ids}{', ...' if total > len(named) else ''}): "
                           "name one by its id")
    try:
        return service.get(ref)  # type: ignore[no-any-return]
    except (NotFound, BadRequest):
        pass
    latest = records(service.find({"query": {"basename": ref, **newest_first}}))
    if latest:
        return latest[0]
    raise CommandError(f"no run '{ref}' on {store.location.rstrip('/')} (no run has that name, id or basename; "
                       "plume runs list shows the runs)")


# ---------------------------------------------------------------------------- list
def _list(service: Service, args: argparse.Namespace) -> None:
    query: dict[str, Any] = {"$sort": {"createdAt": -1}, "$select": LIST_FIELDS}
    for field in ("status", "basename"):
        if getattr(args, field):
            query[field] = getattr(args, field)
    if args.all:
        runs = list(service.items(query, page_size=500))
        total = len(runs)
    else:
        page = service.find({"query": {**query, "$limit": args.limit}})
        runs = records(page)
        total = page.get("total", len(runs)) if isinstance(page, dict) else len(runs)
    if args.json:
        print(dumps(runs))
        return
    print(table(["NAME", "STATUS", "EPOCH", "CREATED (UTC)", "ID"],
                [[r.get("name") or r.get("basename"), r.get("status"), epoch_of(r), when(r.get("createdAt")),
                  r.get("_id")] for r in runs]))
    if not runs:
        print("(no runs)")
    elif total > len(runs):
        print(f"({len(runs)} of {total} runs: --limit N or --all for more)")


def epoch_of(run: dict[str, Any]) -> str:
    """``3/10`` (epoch of epochs), ``3``, or ``-``."""
    epoch, epochs = run.get("epoch"), run.get("epochs")
    if epoch is None:
        return "-"
    return f"{epoch}/{epochs}" if epochs is not None else str(epoch)


# ---------------------------------------------------------------------------- show
def last_metrics(run: dict[str, Any]) -> dict[str, Any]:
    """Each metric's last value (``logs: {metric: [one value per epoch]}``)."""
    logs = run.get("logs")
    out: dict[str, Any] = {}
    if isinstance(logs, dict):
        for name, values in logs.items():
            if isinstance(values, list):
                present = [v for v in values if v is not None]
                out[str(name)] = present[-1] if present else None
            else:
                out[str(name)] = values
    return out


def flat_params(run: dict[str, Any]) -> dict[str, Any]:
    """A run's ``params``, nested objects flattened to dotted keys (``optimizer.lr``)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            out[prefix] = value

    params = run.get("params")
    if isinstance(params, dict):
        walk("", params)
    return out


def _show(run: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(dumps(run))
        return
    summary = [("run", run.get("name") or run.get("basename")), ("id", run.get("_id")),
               ("status", run.get("status")), ("epoch", epoch_of(run))]
    summary += [(label, value) for label, value in (
        ("source", run.get("source")), ("start", run.get("start")), ("created", when(run.get("createdAt"))),
        ("updated", when(run.get("updatedAt")))) if value not in (None, "-")]
    print(pairs(summary, indent=""))
    print("\nparams")
    print(pairs(flat_params(run).items()))
    metrics = last_metrics(run)
    epochs = max((len(v) for v in (run.get("logs") or {}).values() if isinstance(v, list)), default=0)
    print(f"\nlast metrics ({epochs} epoch{'s' if epochs != 1 else ''} logged)")
    print(pairs(metrics.items()))
    checkpoints = [c for c in run.get("checkpoints") or [] if isinstance(c, dict)]
    print(f"\ncheckpoints ({len(checkpoints)})")
    if checkpoints:
        print(table(["NAME", "SERVICE", "ID"], [[c.get("name"), c.get("service"), c.get("id")] for c in checkpoints],
                    indent="  "))
    model = run.get("model")
    if isinstance(model, dict):
        print("\nmodel")
        print(pairs((k, model.get(k)) for k in ("name", "param_count", "loss") if k in model))
    other = [(k, v) for k, v in run.items() if k not in SHOWN]
    if other:
        print("\nother fields")
        print(pairs(other))


# ---------------------------------------------------------------------------- compare
def comparison(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs' params side by side (and which differ), and their last metrics."""
    params = [flat_params(r) for r in runs]
    metrics = [last_metrics(r) for r in runs]
    param_keys = _keys(params)
    metric_keys = _keys(metrics)
    side_by_side = {k: [p.get(k) for p in params] for k in param_keys}
    different = [k for k in param_keys if len({_same(p, k) for p in params}) > 1]
    return {
        "runs": [{"_id": r.get("_id"), "name": r.get("name"), "status": r.get("status"), "epoch": r.get("epoch"),
                  "epochs": r.get("epochs")} for r in runs],
        "params": side_by_side,
        "different": different,
        "metrics": {k: [m.get(k) for m in metrics] for k in metric_keys},
    }


def _keys(dicts: Iterable[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for d in dicts:
        keys.update(dict.fromkeys(d))
    return sorted(keys)


def _same(values: dict[str, Any], key: str) -> str:
    """What makes two params equal: the same JSON (a param a run lacks differs from any value)."""
    return json.dumps(values[key], sort_keys=True, default=str) if key in values else "\0missing"


def _compare(runs: list[dict[str, Any]], as_json: bool) -> None:
    data = comparison(runs)
    if as_json:
        print(dumps(data))
        return
    names = [str(r.get("name") or r.get("_id")) for r in runs]
    if len(set(names)) < len(names):  # the same name twice: tell the columns apart by id
        names = [f"{n} ({str(r.get('_id'))[-6:]})" for n, r in zip(names, runs, strict=True)]
    different = set(data["different"])
    rows: list[list[Any]] = [[" ", "status", *(r.get("status") for r in runs)],
                             [" ", "epoch", *(epoch_of(r) for r in runs)]]
    rows += [["*" if k in different else " ", f"params.{k}", *v] for k, v in data["params"].items()]
    rows += [[" ", f"last {k}", *v] for k, v in data["metrics"].items()]
    print(table([" ", " ", *names], rows))
    print(f"\n* differs ({len(different)} of {len(data['params'])} params)" if data["params"] else "\nno params")

