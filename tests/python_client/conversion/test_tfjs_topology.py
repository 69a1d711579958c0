"""Unit tests of the Keras 3 → Keras 2 topology rewrite (pure JSON, no TensorFlow)."""

from __future__ import annotations

import copy
from typing import Any

from python_client.conversion.tfjs_topology import rewrite_model_json

POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
INIT = {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}


def keras_tensor(layer: str, node: int = 0, index: int = 0) -> dict[str, Any]:
    return {"class_name": "__keras_tensor__", "config": {"shape": [None, 3], "keras_history": [layer, node, index]}}


def keras3_sequential() -> dict[str, Any]:
    return {
        "format": "layers-model",
        "modelTopology": {
            "keras_version": "3.15.1",
            "model_config": {
                "class_name": "Sequential",
                "config": {
                    "name": "sequential",
                    "dtype": POLICY,
                    "layers": [
                        {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "input_layer"}},
                        {
                            "module": "keras.layers",
                            "class_name": "Dense",
                            "config": {"name": "dense", "dtype": POLICY, "bias_initializer": INIT, "units": 2},
                            "registered_name": None,
                            "build_config": {"input_shape": [None, 4]},
                        },
                    ],
                },
            },
            "training_config": {"loss": "mse"},
        },
        "weightsManifest": [
            {
                "paths": ["group1-shard1of1.bin"],
                "weights": [{"name": "sequential/dense/kernel"}, {"name": "sequential/dense/bias"}],
            }
        ],
    }


def keras3_functional() -> dict[str, Any]:
    return {
        "modelTopology": {
            "model_config": {
                "class_name": "Functional",
                "config": {
                    "name": "functional",
                    "layers": [
                        {
                            "class_name": "InputLayer",
                            "name": "a",
                            "config": {"batch_shape": [None, 3]},
                            "inbound_nodes": [],
                        },
                        {
                            "class_name": "InputLayer",
                            "name": "b",
                            "config": {"batch_shape": [None, 2]},
                            "inbound_nodes": [],
                        },
                        {
                            "class_name": "Concatenate",
                            "name": "concatenate",
                            "config": {"name": "concatenate", "dtype": POLICY},
                            "inbound_nodes": [
                                {"args": [[keras_tensor("a"), keras_tensor("b")]], "kwargs": {"axis": -1}}
                            ],
                        },
                    ],
                    "input_layers": [["a", 0, 0], ["b", 0, 0]],
                    "output_layers": ["concatenate", 0, 0],
                },
            }
        },
        "weightsManifest": [],
    }


def test_sequential_is_rewritten_to_keras2_form() -> None:
    original = keras3_sequential()
    out = rewrite_model_json(original)
    topology = out["modelTopology"]
    assert "training_config" not in topology
    config = topology["model_config"]["config"]
    assert config["dtype"] == "float32"
    input_layer, dense = config["layers"]
    assert input_layer["config"] == {"batch_input_shape": [None, 4], "name": "input_layer"}
    assert dense == {
        "class_name": "Dense",
        "config": {
            "name": "dense",
            "dtype": "float32",
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "units": 2,
        },
    }
    assert [w["name"] for w in out["weightsManifest"][0]["weights"]] == ["dense/kernel", "dense/bias"]
    assert original == keras3_sequential()  # the input is not modified


def test_functional_nodes_and_io_layers_are_rewritten() -> None:
    config = rewrite_model_json(keras3_functional())["modelTopology"]["model_config"]["config"]
    concat = config["layers"][2]
    assert concat["inbound_nodes"] == [[["a", 0, 0, {}], ["b", 0, 0, {}]]]
    assert config["layers"][0]["inbound_nodes"] == []
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["output_layers"] == [["concatenate", 0, 0]]


def test_rewrite_is_idempotent() -> None:
    for build in (keras3_sequential, keras3_functional):
        once = rewrite_model_json(build())
        assert rewrite_model_json(once) == once


def test_keras2_topology_is_left_alone() -> None:
    keras2 = {
        "modelTopology": {
            "keras_version": "2.21.0",
            "model_config": {
                "class_name": "Sequential",
                "config": {
                    "name": "sequential",
                    "layers": [
                        {
                            "class_name": "InputLayer",
                            "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "in"},
                        },
                        {"class_name": "Dense", "config": {"name": "sequential", "units": 2, "dtype": "float32"}},
                    ],
                },
            },
        },
        "weightsManifest": [{"paths": ["x.bin"], "weights": [{"name": "sequential/kernel"}]}],
    }
    # A layer named like its model: the weight prefix is the layer's own name, not the model's.
    assert rewrite_model_json(copy.deepcopy(keras2)) == keras2


def test_nested_keras_tensors_keep_their_order() -> None:
    model = keras3_functional()
    layers = model["modelTopology"]["model_config"]["config"]["layers"]
    layers[2]["inbound_nodes"] = [{"args": [keras_tensor("b"), [keras_tensor("a", 1, 2)]], "kwargs": {}}]
    config = rewrite_model_json(model)["modelTopology"]["model_config"]["config"]
    assert config["layers"][2]["inbound_nodes"] == [[["b", 0, 0, {}], ["a", 1, 2, {}]]]


def test_model_json_without_topology_is_returned_as_is() -> None:
    assert rewrite_model_json({"weightsManifest": []}) == {"weightsManifest": []}


def test_calls_of_a_nested_model_built_on_an_input_start_at_node_1() -> None:
    inner = {
        "class_name": "Sequential",
        "name": "inner",
        "config": {"name": "inner", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [None, 4]}}]},
        "inbound_nodes": [{"args": [keras_tensor("x")], "kwargs": {}}],
    }
    model = {
        "modelTopology": {
            "model_config": {
                "class_name": "Functional",
                "config": {
                    "name": "outer",
                    "layers": [
                        {
                            "class_name": "InputLayer",
                            "name": "x",
                            "config": {"batch_shape": [None, 4]},
                            "inbound_nodes": [],
                        },
                        inner,
                    ],
                    "input_layers": [["x", 0, 0]],
                    "output_layers": ["inner", 0, 0],
                },
            }
        }
    }
    once = rewrite_model_json(model)
    config = once["modelTopology"]["model_config"]["config"]
    assert config["layers"][1]["inbound_nodes"] == [[["x", 0, 0, {}]]]  # the input layer is not shifted
    assert config["output_layers"] == [["inner", 1, 0]]
    assert rewrite_model_json(once) == once
