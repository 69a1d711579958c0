"""Plain data that crosses the process boundary: a conversion job and its result.

Both travel between the server and the worker as dicts of builtins (pickled by
``multiprocessing``), so neither side needs the other's imports.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ErrorKind

Target = Literal["tfjs", "onnx"]
TARGETS: tuple[Target, ...] = ("tfjs", "onnx")

#: The value Marcelle-style frontends expect in ``metadata.tfjsModelFormat`` for our TF.js output.
TFJS_LAYERS_MODEL = "layers-model"


@dataclass(frozen=True)
class ConversionJob:
    """Convert one uploaded Keras model file into another format.

    Attributes:
        input_path: A ``.keras`` or ``.h5`` file (Keras 3 or tf-keras).
        target: ``"tfjs"`` (TF.js layers model: ``model.json`` + weight shards) or ``"onnx"``.
        output_dir: Where the produced files go; created if missing. Files are written to a
            staging folder inside it first and moved in only when the conversion succeeded.
        job_id: Identifies the job in logs and names its staging folder.
    """

    input_path: str
    target: Target
    output_dir: str
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"unknown conversion target {self.target!r}; expected one of {TARGETS}")
        # Paths are normalised to absolute strings: the worker may have another cwd one day.
        object.__setattr__(self, "input_path", str(Path(self.input_path).absolute()))
        object.__setattr__(self, "output_dir", str(Path(self.output_dir).absolute()))

    @property
    def staging_dir(self) -> str:
        """Folder the worker writes into before the files are moved to ``output_dir``."""
        return str(Path(self.output_dir) / f".staging-{self.job_id}")

    def to_dict(self) -> dict[str, Any]:
        """The job as builtins, for the pipe to the worker."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversionJob:
        """Rebuild a job sent by :meth:`to_dict`."""
        return cls(**data)


@dataclass
class ConversionResult:
    """Outcome of one job.

    Attributes:
        job_id: The job's id.
        target: The job's target format.
        files: Absolute paths of the produced files (empty on failure). For TF.js ``model.json``
            comes first, then the weight shards.
        tfjs_model_format: ``"layers-model"`` for TF.js output, else ``None``.
        error: A human-readable message when the job failed, else ``None``.
        error_kind: Category of the failure (see :data:`~services.conversion.errors.ErrorKind`).
        seconds: Wall time spent on the job (in the worker when it finished, else in the pool).
        worker_pid: The worker process that ran the job (diagnostics and tests).
    """

    job_id: str
    target: Target
    files: list[str] = field(default_factory=list)
    tfjs_model_format: str | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    seconds: float = 0.0
    worker_pid: int | None = None

    @property
    def ok(self) -> bool:
        """True when the conversion produced its files."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The result as builtins, for the pipe back to the server."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversionResult:
        """Rebuild a result sent by :meth:`to_dict`."""
        return cls(**data)

    @classmethod
    def failure(
        cls, job: ConversionJob, message: str, kind: ErrorKind, seconds: float = 0.0, worker_pid: int | None = None
    ) -> ConversionResult:
        """A failed result for ``job``."""
        return cls(
            job_id=job.job_id,
            target=job.target,
            error=message,
            error_kind=kind,
            seconds=seconds,
            worker_pid=worker_pid,
        )
