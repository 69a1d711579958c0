"""``ModelInferenceJob``: SBrain's batch inference jobs over Plume's ``inference-jobs`` service."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from ..datastore import DataStore
from ..errors import Conflict
from .connection import store_for
from .encode import as_array, encode_value

PATH = "inference-jobs"
FINISHED = ("done", "failed", "cancelled")


class ModelInferenceJob:
    """A batch job: its document's fields, with SBrain's attribute names (``model_inference_job_id``,
    ``model_inference_job_name``, ``description``, ``model_id``, ``status``, ``created_by_user``,
    ``gpu_required``, ``created_date``, ``updated_date``) and ``progress`` ``{done, total}``."""

    def __init__(self, doc: dict[str, Any], store: DataStore | None = None,
                 output_function: Callable[[Any], Any] | None = None) -> None:
        self.store = store_for(store=store)[0]
        self.output_function = output_function
        self._set(doc)

    def _set(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.model_inference_job_id = doc.get("_id")
        self.model_inference_job_name = doc.get("name")
        self.description = doc.get("description")
        self.model_id = doc.get("model")  # the endpoint's model when the job was submitted
        self.endpoint = doc.get("endpoint")
        self.status = doc.get("status")
        self.progress = doc.get("progress") or {}
        self.created_by_user = doc.get("author")
        self.gpu_required = bool(doc.get("gpu_required"))
        self.created_date = doc.get("createdAt")
        self.updated_date = doc.get("updatedAt")
        self.error = doc.get("error")

    def __repr__(self) -> str:
        return f"ModelInferenceJob({self.model_inference_job_id!r}, status={self.status!r}, progress={self.progress})"

    @classmethod
    def submit(cls, endpoint_name: str, job_name: str, description: str = "", instances: Iterable[Any] = (),
               gpu_required: bool = False, output_function: Callable[[Any], Any] | None = None,
               store: DataStore | None = None) -> ModelInferenceJob:
        """Run ``instances`` (``{input: value}`` dicts, or values of a one-input model) through
        endpoint ``endpoint_name`` as a job."""
        store = store_for(store=store)[0]
        rows = [{k: encode_value(v) for k, v in i.items()} if isinstance(i, dict) else encode_value(i)
                for i in instances]
        doc = store.service(PATH).create({"name": job_name, "description": description, "endpoint": endpoint_name,
                                          "instances": rows, "gpu_required": bool(gpu_required)})
        return cls(doc, store, output_function)

    @classmethod
    def retrieve(cls, job_id: str, store: DataStore | None = None) -> ModelInferenceJob:
        """The job with id ``job_id``."""
        store = store_for(store=store)[0]
        return cls(store.service(PATH).get(job_id), store)

    def refresh(self) -> ModelInferenceJob:
        self._set(self.store.service(PATH).get(self.model_inference_job_id))
        return self

    def get_status(self) -> str:
        """The current status: queued, running, done, failed or cancelled."""
        return str(self.refresh().status)

    def has_finished(self) -> bool:
        return self.get_status() in FINISHED

    def cancel(self) -> None:
        """Stop the job (its status becomes cancelled; a finished job stays as it is)."""
        if not self.has_finished():
            try:
                self._set(self.store.service(PATH).patch(self.model_inference_job_id, {"status": "cancelled"}))
            except Conflict:
                self.refresh()  # it finished meanwhile: it stays as it is

    def wait_until_finished(self, time_out_in_seconds: float = 600.0, check_every_n_seconds: float = 0.2) -> None:
        """Wait until the job is done, failed or cancelled (TimeoutError past the time-out)."""
        deadline = time.monotonic() + time_out_in_seconds
        while not self.has_finished():
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {self.model_inference_job_id} did not finish in {time_out_in_seconds:g} s")
            time.sleep(check_every_n_seconds)

    def results(self) -> Any:
        """The predictions of a finished job (one per instance), through ``output_function`` when given."""
        predictions = as_array(self.refresh().doc.get("predictions"))
        return self.output_function(predictions) if self.output_function else predictions
