"""What ``Service`` and ``AsyncService`` share, without I/O: the six methods built from the method
table, the requests behind them, and the checks on their arguments.

:func:`install_methods` gives a service class one method per entry of
:data:`python_client.methods.METHODS` (same arguments, in the same order: ``find(params)``,
``get(id, params)``, ``create(data, params)``, ``update(id, data, params)``, ``patch(id, data,
params)``, ``remove(id, params)``). Each builds a :class:`Call` here and hands it to the shell's
``_send`` (``requests`` or aiohttp), which only moves bytes.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import Conflict, PlumeError
from .methods import EVENTS, METHODS, MethodSpec, RestCall, rest_call
from .utils import conform_dict

if TYPE_CHECKING:
    from .storebase import StoreBase

Params = dict[str, Any] | None

#: The keys of Feathers' ``params`` (only ``query`` goes over the wire; the others are the server's).
PARAM_KEYS = frozenset({"query", "provider", "route", "headers", "connection", "user", "authentication",
                        "paginate", "adapter"})


def checked_params(method: str, params: Any) -> dict[str, Any] | None:
    """``params`` if it is Feathers' ``{"query": {...}}``; an error that shows the fix otherwise.

    ``find({"age": {"$gt": 30}})`` would send no query at all and answer every record: the
    conditions must be wrapped, ``find({"query": {"age": {"$gt": 30}}})``.
    """
    if params is None:
        return None
    if not isinstance(params, dict):
        raise TypeError(f"{method}() takes params as a dict {{'query': {{...}}}}, not {type(params).__name__}")
    unknown = sorted(str(key) for key in params if key not in PARAM_KEYS)
    if unknown:
        raise ValueError(f"{method}() got params with {', '.join(map(repr, unknown))}, which are not Feathers params: "
                         f"a query goes inside 'query', as in {method}(..., {{'query': {params!r}}})")
    return params


@dataclass(frozen=True)
class Call:
    """A service call: its REST request, and the id its data carries (a create that may be repeated)."""

    rest: RestCall
    record_id: Any = None

    def recovery(self, error: PlumeError) -> RestCall | None:
        """The request that answers instead when ``error`` ended the call, or None (raise it).

        A create repeated after a lost answer gets 409 when the lost attempt created the record:
        the stored record is then the result.
        """
        if isinstance(error, Conflict) and self.record_id is not None and error.attempts > 1:
            return rest_call("get", self.rest.path, self.record_id)  # a create's path is the service's
        return None


def _signature(spec: MethodSpec) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([inspect.Parameter(arg, kind) for arg in spec.args]
                             + [inspect.Parameter("params", kind, default=None)])


_SIGNATURES = {name: _signature(spec) for name, spec in METHODS.items()}


class ServiceBase:
    """The methods of service ``path`` on a store (see :class:`python_client.Service`)."""

    def __init__(self, store: StoreBase, path: str, id_field: str = "_id") -> None:
        self.store = store
        self.path = path.strip("/")
        self.id_field = id_field

    @property
    def location(self) -> str:
        """The service's URL (Marcelle's attribute)."""
        return self.store.location + self.path

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Call:
        """The :class:`Call` of ``<method>(*args, **kwargs)`` (TypeError for arguments it does not take)."""
        spec = METHODS[method]
        bound = _SIGNATURES[method].bind(*args, **kwargs).arguments
        data = conform_dict(bound["data"]) if "data" in spec.args else None
        params = checked_params(method, bound.get("params"))
        rest = rest_call(method, self.path, bound.get("id"), data, params, id_field=self.id_field)
        # Only a method that is not idempotent by itself (create) is made repeatable by its data's id.
        record_id = data.get(self.id_field) if not spec.idempotent and isinstance(data, dict) else None
        return Call(rest, record_id)

    @property
    def upload_path(self) -> str:
        """Where uploads go: ``<path>/upload``."""
        return f"{self.path}/upload"

    def file_path(self, id: Any, filename: str) -> str:
        """Where a stored file is served: ``<path>/<id>/<filename>``."""
        return f"{self.path}/{quote(str(id), safe='')}/{quote(filename, safe='')}"

    @staticmethod
    def download_target(dest: str | os.PathLike[str], filename: str) -> Path:
        """The file a download writes: ``dest``, or ``dest/<filename>`` when ``dest`` is a folder.

        A ``dest`` that ends with a separator names a folder: FileNotFoundError when it does not
        exist (rather than a file named after it), as when the folder of a file path does not.
        """
        text = os.fspath(dest)
        target = Path(text)
        if target.is_dir():
            return target / filename
        if text.endswith(("/", os.sep)):
            raise FileNotFoundError(f"cannot download {filename} into {text}: no such folder")
        if not target.parent.is_dir():
            raise FileNotFoundError(f"cannot download {filename} to {text}: no such folder {target.parent}")
        return target

    @staticmethod
    def checked_event(event: str) -> str:
        """``event`` if services emit it (ValueError otherwise)."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}: one of {', '.join(EVENTS)}")
        return event

    def off(self, event: str, callback: Callable[[Any], Any] | None = None) -> None:
        """Stop calling ``callback`` (or every callback) on ``event``."""
        self.store.realtime.subscriptions.remove(self.path, event, callback)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"


def _sync_method(name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._send(self._call(name, *args, **kwargs))
    return method


def _async_method(name: str) -> Callable[..., Any]:
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await self._send(self._call(name, *args, **kwargs))
    return method


def install_methods(cls: type[ServiceBase], *, asynchronous: bool = False) -> None:
    """Give ``cls`` the six methods of the table; each calls ``self._send(call)`` (awaited if async)."""
    for name, spec in METHODS.items():
        method = (_async_method if asynchronous else _sync_method)(name)
        method.__name__ = name
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        method.__doc__ = spec.doc
        method.__signature__ = _SIGNATURES[name].replace(  # type: ignore[attr-defined]
            parameters=[inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                        *_SIGNATURES[name].parameters.values()])
        method.__module__ = cls.__module__
        setattr(cls, name, method)
