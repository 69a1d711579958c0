"""Model-service test fixtures: the conversion tests' model builder (a subprocess; no TensorFlow here)."""

from tests.services.conversion.conftest import models  # noqa: F401  (re-exported fixture)
