"""Keras 3 → Keras 2 topology rewrite for TF.js: moved to :mod:`python_client.conversion.tfjs_topology`
(shared with the Python client); this name stays for the server's imports."""

from python_client.conversion.tfjs_topology import rewrite_model_json

__all__ = ["rewrite_model_json"]
