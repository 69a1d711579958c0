"""Keras → TF.js layers model: moved to :mod:`python_client.conversion.tfjs` (shared with the Python
client); this name stays for the conversion worker. Imports TensorFlow when called."""

from python_client.conversion.tfjs import _import_tfjs_converters, keras_to_tfjs

__all__ = ["_import_tfjs_converters", "keras_to_tfjs"]
