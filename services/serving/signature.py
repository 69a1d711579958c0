"""A model's inputs and outputs as onnxruntime reports them: names, shapes and numpy dtypes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: ONNX tensor element types → numpy dtypes (strings are numpy objects holding ``str``).
DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int8)": np.int8, "tensor(int16)": np.int16, "tensor(int32)": np.int32, "tensor(int64)": np.int64,
    "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16, "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_, "tensor(string)": np.object_,
}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: ``shape`` has None for the dimensions the model leaves free."""

    name: str
    shape: tuple[int | None, ...]
    dtype: Any  # a numpy scalar type (np.object_ for strings)
    onnx_type: str

    @classmethod
    def of(cls, arg: Any) -> TensorSpec:
        """From an onnxruntime ``NodeArg`` (``.name``, ``.shape``, ``.type``)."""
        if arg.type not in DTYPES:
            raise ValueError(f"{arg.name} has type {arg.type}, which serving does not handle")
        shape = tuple(d if isinstance(d, int) and d >= 0 else None for d in (arg.shape or ()))
        return cls(arg.name, shape, DTYPES[arg.type], arg.type)

    @property
    def is_text(self) -> bool:
        return self.dtype is np.object_

    @property
    def batchable(self) -> bool:
        """Rows of several requests can be stacked: the first dimension is free."""
        return bool(self.shape) and self.shape[0] is None

    @property
    def row_shape(self) -> tuple[int | None, ...]:
        """The shape of one instance (the batch dimension dropped)."""
        return self.shape[1:]

    def describe(self) -> str:
        dims = ["?" if d is None else str(d) for d in self.row_shape]
        kind = "string" if self.is_text else np.dtype(self.dtype).name
        return f"({', '.join(dims)}{',' if len(dims) == 1 else ''}) {kind}"

    def to_json(self) -> dict[str, Any]:
        """What an endpoint document shows: ``{name, shape, dtype}`` (``null`` for free dimensions)."""
        return {"name": self.name, "shape": list(self.shape),
                "dtype": "string" if self.is_text else np.dtype(self.dtype).name}
