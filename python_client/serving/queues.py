"""``InputQueue`` and ``OutputQueue``: Analytics Zoo Cluster Serving's client API over Plume.

The queue is the server's ``serving-requests`` service (one document per ``enqueue``), answered by
the endpoint ``name``; answers are in ``serving-results`` until dequeued. ``predict`` posts to
``/endpoints/<name>/predict`` directly when ``sync`` or ``frontend_url`` is given (Cluster
Serving's HTTP frontend), else goes through the queue.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from ..datastore import DataStore
from .connection import predict as post_predict
from .connection import store_for
from .encode import as_array, encode_inputs

DEFAULT_NAME = "serving_stream"  # Cluster Serving's default stream name
REQUESTS = "serving-requests"
RESULTS = "serving-results"
NOT_READY = "[]"  # what Cluster Serving's query answers for a uri without a result yet
FAILED = "NaN"  # ... and for one whose prediction failed


class _Queue:
    def __init__(self, host: str | None = None, port: int | str | None = None, frontend_url: str | None = None,
                 name: str = DEFAULT_NAME, store: DataStore | None = None) -> None:
        self.name = name
        self.frontend_url = frontend_url
        self.store, self._owned = store_for(host, port, frontend_url, store)

    def close(self) -> None:
        """Close the connection when this object made it (``host``/``port``/``frontend_url``)."""
        if self._owned:
            self.store.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OutputQueue(_Queue):
    """Results of endpoint ``name``: :meth:`query` one uri, :meth:`dequeue` them all."""

    def _decode(self, doc: dict[str, Any]) -> Any:
        if doc.get("status") != "done":
            return FAILED
        result = doc.get("result")
        if isinstance(result, dict) and result and all(isinstance(v, (int, float)) for v in result.values()):
            # top_n: Cluster Serving's {"class": "probability"} text, most probable first
            return json.dumps({label: str(p) for label, p in result.items()})
        return as_array(result)

    def query(self, uri: str, delete: bool = False) -> Any:
        """The result of ``uri``: an ndarray (a dict of them for a model with several outputs), the
        JSON text ``{"label": "probability", ...}`` for a ``top_n`` endpoint, ``"NaN"`` when the
        prediction failed, ``"[]"`` when there is no result (yet). ``delete`` dequeues it."""
        found = self.store.service(RESULTS).find({"query": {"endpoint": self.name, "uri": uri,
                                                            "$sort": {"createdAt": -1}, "$limit": 1}})
        docs = found["data"] if isinstance(found, dict) else found
        if not docs:
            return NOT_READY
        if delete:
            self.store.service(RESULTS).remove(docs[0]["_id"])
        return self._decode(docs[0])

    def query_and_delete(self, uri: str) -> Any:
        return self.query(uri, delete=True)

    def error(self, uri: str) -> str | None:
        """Why the prediction of ``uri`` failed (the server's message), or None."""
        found = self.store.service(RESULTS).find({"query": {"endpoint": self.name, "uri": uri, "$limit": 1}})
        docs = found["data"] if isinstance(found, dict) else found
        return docs[0].get("error") if docs else None

    def dequeue(self) -> dict[str, Any]:
        """Every result of the endpoint, ``{uri: result}`` (as :meth:`query` gives them), removed
        from the server."""
        results = self.store.service(RESULTS)
        docs = list(results.items({"endpoint": self.name}))
        for start in range(0, len(docs), 500):
            ids = [d["_id"] for d in docs[start:start + 500]]
            results.remove(None, {"query": {"endpoint": self.name, "_id": {"$in": ids}}})
        return {str(doc["uri"]): self._decode(doc) for doc in docs}


class InputQueue(_Queue):
    """Sends requests to endpoint ``name`` (see the module docstring).

    Args:
        host, port: The Plume server (default: the process's default connection).
        sync: :meth:`predict` calls the endpoint directly instead of going through the queue.
        frontend_url: The Plume server's URL (Cluster Serving's HTTP frontend); implies ``sync``.
        name: The endpoint.
    """

    def __init__(self, host: str | None = None, port: int | str | None = None, sync: bool = False,
                 frontend_url: str | None = None, name: str = DEFAULT_NAME, store: DataStore | None = None) -> None:
        super().__init__(host, port, frontend_url, name, store)
        self.sync = sync or bool(frontend_url)
        self.output_queue = OutputQueue(name=name, store=self.store)

    def enqueue(self, uri: str, **data: Any) -> None:
        """Queue one instance, ``name=value`` per model input: ndarrays, lists of strings, images
        (a path, ``{"path"}``, ``{"b64"}``), sparse tensors ``[indices, values, shape]``."""
        self.store.service(REQUESTS).create({"uri": str(uri), "endpoint": self.name, "inputs": encode_inputs(data)})

    def predict(self, request_str: str | bytes | dict[str, Any] | None = None, timeout: float = 30.0, *,
                request_data: str | bytes | dict[str, Any] | None = None) -> Any:
        """Predict the instances of ``request_str``, ``{"instances": [{input: value}, ...]}`` (JSON
        text, as the seed's ``predict(request_str)``, or a dict): an ndarray with one row per instance
        (a dict of them for several outputs; the ``{label: probability}`` dicts of a ``top_n``
        endpoint). ``request_data`` is the same argument under the name Analytics Zoo's own client
        gives it; ``timeout`` bounds the wait for queued answers (TimeoutError)."""
        if (request_str is None) == (request_data is None):
            raise TypeError("predict() takes the request once: predict(request_str) (or request_data=...)")
        given = request_str if request_str is not None else request_data
        request = json.loads(given) if isinstance(given, (str, bytes)) else given
        instances = request.get("instances") if isinstance(request, dict) else None
        if not isinstance(instances, list) or not instances:
            raise ValueError('request_str must hold {"instances": [{...}, ...]}')
        if self.sync:
            return as_array(post_predict(self.store, self.name, {"instances": instances})["predictions"])
        uris = [f"predict-{uuid.uuid4()}" for _ in instances]
        for uri, instance in zip(uris, instances, strict=True):
            self.store.service(REQUESTS).create({"uri": uri, "endpoint": self.name, "inputs": instance})
        return as_array([self._wait(uri, timeout) for uri in uris])

    def _wait(self, uri: str, timeout: float) -> Any:
        results = self.store.service(RESULTS)
        deadline, pause = time.monotonic() + timeout, 0.005
        while True:
            found = results.find({"query": {"endpoint": self.name, "uri": uri, "$limit": 1}})
            docs = found["data"] if isinstance(found, dict) else found
            if docs:
                results.remove(docs[0]["_id"])
                if docs[0].get("status") != "done":
                    raise ValueError(f"the prediction failed: {docs[0].get('error')}")
                return docs[0]["result"]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer from endpoint {self.name!r} within {timeout:g} s")
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
