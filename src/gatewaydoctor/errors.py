"""The errors bad input raises: one module of its own, so the bundle writer (which must load
fast) can name them without loading the evidence model."""

from __future__ import annotations


class EvidenceError(ValueError):
    """The evidence cannot be loaded (wrong schema or shape)."""
