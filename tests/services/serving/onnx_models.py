"""Small ONNX models built with ``onnx.helper`` (no TensorFlow): an MLP, a CNN, a two-input model
and a text model, with seeded random weights. Used by the serving tests and the benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def _weights(rng: np.random.Generator, name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.normal(size=shape) / np.sqrt(shape[0])).astype(np.float32), name)


def _save(graph: onnx.GraphProto, path: Path, opsets: list[onnx.OperatorSetIdProto] = OPSET) -> Path:
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def mlp(path: Path, inputs: int = 4, hidden: int = 16, classes: int = 3, seed: int = 0, name: str = "x") -> Path:
    """``name`` (batch, inputs) float → ``probs`` (batch, classes) softmax."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("MatMul", [name, "w1"], ["h1"]), helper.make_node("Add", ["h1", "b1"], ["h2"]),
             helper.make_node("Relu", ["h2"], ["h3"]), helper.make_node("MatMul", ["h3", "w2"], ["h4"]),
             helper.make_node("Add", ["h4", "b2"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=-1)]
    init = [_weights(rng, "w1", inputs, hidden), _weights(rng, "b1", hidden),
            _weights(rng, "w2", hidden, classes), _weights(rng, "b2", classes)]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", inputs])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", classes])], init)
    return _save(graph, path)


def slow(path: Path, inputs: int = 4, size: int = 256, depth: int = 25, seed: int = 5) -> Path:
    """``x`` (batch, inputs) float → ``out`` (batch, 1), slowly: each instance becomes a ``size`` by
    ``size`` matrix multiplied ``depth`` times (``2 * depth * size³`` flops an instance), for a batch
    job that is still running when a test acts on it."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("MatMul", ["x", "w_in"], ["flat"]),
             helper.make_node("Reshape", ["flat", "square"], ["h0"])]
    for i in range(depth):  # one shared weight: the file stays small
        nodes += [helper.make_node("MatMul", [f"h{i}", "w"], [f"m{i}"]),
                  helper.make_node("Tanh", [f"m{i}"], [f"h{i + 1}"])]
    nodes.append(helper.make_node("ReduceMean", [f"h{depth}"], ["mean"], axes=[1, 2], keepdims=0))
    nodes.append(helper.make_node("Unsqueeze", ["mean", "one"], ["out"]))
    init = [_weights(rng, "w_in", inputs, size * size), _weights(rng, "w", size, size),
            numpy_helper.from_array(np.array([-1, size, size], dtype=np.int64), "square"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "one")]
    graph = helper.make_graph(nodes, "slow", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", inputs])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 1])], init)
    return _save(graph, path)


def cnn(path: Path, size: int = 8, channels: int = 3, filters: int = 4, classes: int = 3, seed: int = 1) -> Path:
    """``image`` (batch, size, size, channels) NHWC float → ``probs`` (batch, classes)."""
    rng = np.random.default_rng(seed)
    flat = filters * (size - 2) * (size - 2)
    nodes = [helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["nchw", "k", "kb"], ["c1"], kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c1"], ["c2"]),
             helper.make_node("Flatten", ["c2"], ["f"], axis=1),
             helper.make_node("MatMul", ["f", "w"], ["l1"]), helper.make_node("Add", ["l1", "b"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=-1)]
    init = [numpy_helper.from_array((rng.normal(size=(filters, channels, 3, 3)) / 30).astype(np.float32), "k"),
            _weights(rng, "kb", filters), _weights(rng, "w", flat, classes), _weights(rng, "b", classes)]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", size, size, channels])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", classes])], init)
    return _save(graph, path)


def two_inputs(path: Path, seed: int = 2) -> Path:
    """``a`` (batch, 3) and ``b`` (batch, 2, 2) float → ``sum`` (batch, 2) and ``scaled`` (batch, 3)."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("Flatten", ["b"], ["bf"], axis=1),
             helper.make_node("Concat", ["a", "bf"], ["ab"], axis=1),
             helper.make_node("MatMul", ["ab", "w"], ["sum"]), helper.make_node("Mul", ["a", "two"], ["scaled"])]
    init = [_weights(rng, "w", 7, 2), numpy_helper.from_array(np.array([2.0], dtype=np.float32), "two")]
    graph = helper.make_graph(
        nodes, "two", [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 3]),
                       helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 2, 2])],
        [helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["batch", 2]),
         helper.make_tensor_value_info("scaled", TensorProto.FLOAT, ["batch", 3])], init)
    return _save(graph, path)


def text(path: Path, words: tuple[str, ...] = ("hello", "world", "plume")) -> Path:
    """``words`` (batch, 2) string → ``codes`` (batch, 2) float: each word's index + 1 (0 if unknown)."""
    node = helper.make_node("LabelEncoder", ["words"], ["codes"], domain="ai.onnx.ml", keys_strings=list(words),
                            values_floats=[float(i + 1) for i in range(len(words))], default_float=0.0)
    graph = helper.make_graph([node], "text",
                              [helper.make_tensor_value_info("words", TensorProto.STRING, ["batch", 2])],
                              [helper.make_tensor_value_info("codes", TensorProto.FLOAT, ["batch", 2])])
    return _save(graph, path, [*OPSET, helper.make_opsetid("ai.onnx.ml", 2)])


def sparse_sum(path: Path, rows: int = 5, cols: int = 10) -> Path:
    """``dense`` (batch, rows, cols) float → ``total`` (batch, 1): the sum of each instance."""
    node = helper.make_node("ReduceSum", ["dense", "axes"], ["total"], keepdims=0)
    node2 = helper.make_node("Unsqueeze", ["total", "one"], ["out"])
    init = [numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "one")]
    graph = helper.make_graph([node, node2], "sparse",
                              [helper.make_tensor_value_info("dense", TensorProto.FLOAT, ["batch", rows, cols])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 1])], init)
    return _save(graph, path)
