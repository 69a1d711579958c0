"""``ModelEndPoint``: SBrain's model endpoints over Plume's ``endpoints`` service."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..datastore import DataStore
from ..errors import Unprocessable
from .connection import predict as post_predict
from .connection import store_for
from .encode import as_array

PATH = "endpoints"
MODEL_SERVICES = {"onnx": "onnx-models", "keras": "keras-models"}


class EndpointFailed(Unprocessable):  # type: ignore[misc,valid-type]
    """The endpoint could not load its model (its ``error`` says why)."""


def model_ref(model: Any) -> str:
    """What an endpoint's ``model`` field takes, from a reference string, a registry model object
    (:class:`python_client.model.Model` or ``OutputModel``: ``models/<id>``) or a model document
    (an ``onnx-models``/``keras-models`` document, by its ``format``; a registry model, by its ``uri``)."""
    if isinstance(model, str):
        return model
    from ..model.base import Model  # here: the registry client is not needed to serve other models

    if isinstance(model, Model):
        return f"models/{model.id}"
    doc = model if isinstance(model, Mapping) else getattr(model, "__dict__", {})
    ident = doc.get("_id") or doc.get("id")
    if not ident:
        raise TypeError("model must be a reference ('onnx-models/<id>', 'models/<id>', a name...), a registry "
                        f"Model/OutputModel or a model document with an _id, not {type(model).__name__}")
    service = MODEL_SERVICES.get(str(doc.get("format"))) or ("models" if "uri" in doc or "versions" in doc else None)
    return f"{service}/{ident}" if service else str(ident)


def _feature(value: Any) -> Any:
    """One SBrain data point: a base64 image (text or bytes) or an array."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class ModelEndPoint:
    """An endpoint: its document's fields as attributes (``name``, ``model``, ``description``,
    ``replicas``, ``status``, ``inputs``, ``outputs``, ``top_n``, ``labels``, ``author``...)."""

    def __init__(self, doc: dict[str, Any], store: DataStore | None = None) -> None:
        self.store = store_for(store=store)[0]
        self._set(doc)

    def _set(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        for key, value in doc.items():
            setattr(self, key, value)
        self.endpoint_name = doc.get("name")
        self.number_of_service_replicas = doc.get("replicas")

    def __repr__(self) -> str:
        return f"ModelEndPoint({self.doc.get('name')!r}, status={self.doc.get('status')!r})"

    # ------------------------------------------------------------------ class methods
    @classmethod
    def create(cls, model: Any, endpoint_name: str, description: str = "", number_of_service_replicas: int = 1,
               gpu_required: bool = False, *, top_n: int | None = None, labels: Any = None, wait: bool = True,
               timeout: float = 900.0, store: DataStore | None = None, **fields: Any) -> ModelEndPoint:
        """Create endpoint ``endpoint_name`` serving ``model`` (a registry ``Model``/``OutputModel``, a
        model document, or a reference such as ``"models/<id>"``) on ``number_of_service_replicas``
        sessions; with ``wait``, return once it is ready (EndpointFailed if its model cannot load,
        TimeoutError past ``timeout``). Conflict when the name is taken."""
        store = store_for(store=store)[0]
        body = {"name": endpoint_name, "model": model_ref(model), "description": description,
                "replicas": number_of_service_replicas, "gpu_required": bool(gpu_required), **fields}
        if top_n is not None:
            body["top_n"] = top_n
        if labels is not None:
            body["labels"] = labels
        endpoint = cls(store.service(PATH).create(body), store)
        if wait:
            endpoint.wait_until_ready(timeout)
        return endpoint

    @classmethod
    def lookup(cls, endpoint_name: str, store: DataStore | None = None) -> ModelEndPoint:
        """The endpoint named exactly ``endpoint_name`` (NotFound otherwise)."""
        store = store_for(store=store)[0]
        return cls(store.service(PATH).get(endpoint_name), store)

    @classmethod
    def search(cls, endpoint_name: str | None = None, author: str | None = None, description: str | None = None,
               status: str | None = None, model_name: str | None = None,
               store: DataStore | None = None) -> list[ModelEndPoint]:
        """Endpoints whose fields contain the given texts (case-insensitive; ``model_name`` matches
        the model's name or reference)."""
        store = store_for(store=store)[0]
        wanted = {"name": endpoint_name, "author": author, "description": description, "status": status}

        def matches(doc: dict[str, Any]) -> bool:
            for field, text in wanted.items():
                if text is not None and str(text).lower() not in str(doc.get(field) or "").lower():
                    return False
            if model_name is not None:
                names = f"{doc.get('model_name') or ''} {doc.get('model') or ''}".lower()
                if str(model_name).lower() not in names:
                    return False
            return True

        return [cls(doc, store) for doc in store.service(PATH).items() if matches(doc)]

    # ------------------------------------------------------------------ this endpoint
    def refresh(self) -> ModelEndPoint:
        """Read the endpoint again (its status, inputs...)."""
        self._set(self.store.service(PATH).get(self.doc["name"]))
        return self

    def wait_until_ready(self, timeout: float = 900.0) -> ModelEndPoint:
        """Wait until the endpoint is ready; EndpointFailed when it failed, TimeoutError past ``timeout``."""
        deadline, pause = time.monotonic() + timeout, 0.02
        while self.refresh().doc.get("status") == "creating":
            if time.monotonic() > deadline:
                raise TimeoutError(f"endpoint {self.doc['name']!r} was not ready within {timeout:g} s")
            time.sleep(pause)
            pause = min(pause * 1.5, 1.0)
        if self.doc.get("status") == "failed":
            raise EndpointFailed(f"endpoint {self.doc['name']!r} failed: {self.doc.get('error')}")
        return self

    def shutdown(self) -> None:
        """Bring the endpoint down (its document stays, ``status: stopped``; ``start()`` brings it back)."""
        self._set(self.store.service(PATH).patch(self.doc["name"], {"status": "stopped"}))

    def start(self, wait: bool = True, timeout: float = 900.0) -> ModelEndPoint:
        """Load a stopped (or failed) endpoint again."""
        self._set(self.store.service(PATH).patch(self.doc["name"], {"status": "creating"}))
        return self.wait_until_ready(timeout) if wait else self

    def delete(self) -> None:
        """Remove the endpoint."""
        self.store.service(PATH).remove(self.doc["name"])

    def predict(self, feature_dict: Mapping[str, Any]) -> Any:
        """Predict ``{"features": [data point, ...]}`` (base64 images, as text or bytes, or arrays):
        one prediction per data point (an ndarray of rows; ``{label: probability}`` dicts on a
        ``top_n`` endpoint)."""
        features = feature_dict.get("features") if isinstance(feature_dict, Mapping) else None
        if not isinstance(features, (list, tuple)) or not features:
            raise ValueError('feature_dict must be {"features": [data point, ...]}')
        answer = post_predict(self.store, self.doc["name"], {"features": [_feature(f) for f in features]})
        return as_array(answer["predictions"])

    def raw_predict(self, input_function: Callable[[], Any],
                    output_function: Callable[[dict[str, np.ndarray]], Any]) -> Any:
        """Run the model on ``input_function()`` (``{input name: batch array}``, or one array for a
        one-input model) without any transformation, and return ``output_function(outputs)``
        (``outputs`` is ``{output name: batch array}``)."""
        inputs = input_function()
        columns = ({k: np.asarray(v).tolist() for k, v in inputs.items()} if isinstance(inputs, Mapping)
                   else np.asarray(inputs).tolist())
        answer = post_predict(self.store, self.doc["name"], {"inputs": columns})
        return output_function({k: np.asarray(v) for k, v in answer["outputs"].items()})

    def submit_inference_job(self, job_name: str, description: str, input_function: Callable[[], Any],
                             output_function: Callable[[Any], Any] | None = None,
                             gpu_required: bool = False) -> Any:
        """A :class:`~python_client.serving.ModelInferenceJob` over the instances ``input_function()``
        returns; ``output_function`` is applied to its predictions by ``job.results()``."""
        from .jobs import ModelInferenceJob

        return ModelInferenceJob.submit(self.doc["name"], job_name, description, list(input_function()),
                                        gpu_required=gpu_required, output_function=output_function,
                                        store=self.store)
