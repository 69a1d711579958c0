"""Plume's server framework (see README.md, "How it is built")."""

__version__ = "0.1.0"
