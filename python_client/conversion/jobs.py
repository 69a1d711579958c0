"""The one job format: a conversion job and its result, plain data that crosses any process boundary.

The server's worker pool and the training side's conversion child send the same
:class:`ConversionJob` and get the same :class:`ConversionResult` back, as JSON lines (see
:mod:`.process`); in-process conversions use them unchanged. No TensorFlow here.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Self, get_args

from .errors import ConversionError, ErrorKind

Target = Literal["tfjs", "onnx"]
TARGETS: tuple[Target, ...] = get_args(Target)
#: What the input is: a Keras file (``.keras``/``.h5``; ``None`` reads its suffix) or a SavedModel folder.
SourceFormat = Literal["keras", "h5", "saved_model"]
SOURCE_FORMATS: tuple[SourceFormat, ...] = get_args(SourceFormat)

#: ``metadata.tfjsModelFormat`` values Marcelle-style frontends read to pick the TF.js loader.
TFJS_LAYERS_MODEL = "layers-model"
TFJS_GRAPH_MODEL = "graph-model"


class _Plain:
    """JSON-plain (de)serialisation of a dataclass whose fields are builtins."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as builtins."""
        return asdict(self)  # type: ignore[call-overload]  # the subclasses are dataclasses

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild what :meth:`to_dict` gave."""
        return cls(**data)


@dataclass(frozen=True)
class ConversionJob(_Plain):
    """Convert one saved model into another format.

    Attributes:
        input_path: A ``.keras`` or ``.h5`` file (Keras 3 or tf-keras), or a SavedModel folder.
        target: ``"tfjs"`` (TF.js layers model from Keras, graph model from a SavedModel:
            ``model.json`` + weight shards) or ``"onnx"`` (``model.onnx``).
        output_dir: Where the produced files go; created if missing. They are written to a
            staging folder inside it first and moved in only when the whole conversion succeeded.
        source_format: ``"saved_model"`` for a SavedModel folder; ``None`` (or ``"keras"``/``"h5"``)
            for a Keras file, whose suffix says which.
        job_id: Identifies the job in logs and names its staging folder.
    """

    input_path: str
    target: Target
    output_dir: str
    source_format: SourceFormat | None = None
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"unknown conversion target {self.target!r}; expected one of {TARGETS}")
        if self.source_format is not None and self.source_format not in SOURCE_FORMATS:
            raise ValueError(f"unknown source format {self.source_format!r}; expected one of {SOURCE_FORMATS}")
        # Absolute strings: the process that runs the job may have another working directory.
        object.__setattr__(self, "input_path", str(Path(self.input_path).absolute()))
        object.__setattr__(self, "output_dir", str(Path(self.output_dir).absolute()))

    @property
    def staging_dir(self) -> str:
        """The folder the converter writes into before the files are moved to ``output_dir``."""
        return str(Path(self.output_dir) / f".staging-{self.job_id}")


@dataclass
class ConversionResult(_Plain):
    """The outcome of one job.

    Attributes:
        job_id: The job's id.
        target: The job's target format.
        files: Absolute paths of the produced files (empty on failure); for TF.js ``model.json``
            comes first, then the weight shards in manifest order.
        tfjs_model_format: ``"layers-model"`` or ``"graph-model"`` for TF.js output, else ``None``.
        error: What went wrong, in words for the user, when the job failed; else ``None``.
        error_kind: The failure's category (:data:`~.errors.ErrorKind`).
        seconds: Wall time of the job (in the process that converted it, or as the caller saw it
            when that process died or timed out).
        worker_pid: The process that ran the job (diagnostics and tests).
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

    @property
    def metadata(self) -> dict[str, Any]:
        """What the converted model's document adds to its ``metadata`` (``tfjsModelFormat``)."""
        return {"tfjsModelFormat": self.tfjs_model_format} if self.tfjs_model_format else {}

    def checked(self) -> ConversionResult:
        """This result if it succeeded; else its error raised as a :class:`~.errors.ConversionError`."""
        if self.error is not None:
            raise ConversionError(self.error, self.error_kind or "conversion_failed")
        return self

    @classmethod
    def failure(cls, job: ConversionJob, error: ConversionError, seconds: float = 0.0,
                worker_pid: int | None = None) -> ConversionResult:
        """The failed result of ``job``."""
        return cls(job_id=job.job_id, target=job.target, error=error.message, error_kind=error.kind,
                   seconds=seconds, worker_pid=worker_pid)
